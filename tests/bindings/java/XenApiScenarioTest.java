import static org.junit.jupiter.api.Assertions.*;

import com.sun.net.httpserver.HttpServer;
import com.xensource.xenapi.*;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.util.*;
import org.junit.jupiter.api.*;

/**
 * The generated Java binding against a real server process (tests/bindings/test_java_binding.py
 * starts it and passes xenapi.url, xenapi.https (its HTTPS URL), xenapi.cert (its self-signed
 * certificate), xenapi.password and xenapi.classes (the API classes with get_all_records)).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class XenApiScenarioTest {
    static final long MiB = 1 << 20;
    Connection c;
    VM vm;

    static String prop(String name) {
        String v = System.getProperty(name);
        assertNotNull(v, "system property " + name + " missing");
        return v;
    }

    @BeforeAll
    void login() throws Exception {
        c = new Connection(new URL(prop("xenapi.url")));
        Session s = Session.loginWithPassword(c, "root", prop("xenapi.password"),
                APIVersion.latest().toString(), "junit");
        assertEquals(s.toWireString(), c.getSessionReference());
    }

    @AfterAll
    void logout() throws Exception {
        Session.logout(c);
        assertNull(c.getSessionReference());
    }

    @Test
    @Order(1)
    void poolAndHost() throws Exception {
        Set<Pool> pools = Pool.getAll(c);
        assertEquals(1, pools.size());
        Pool pool = pools.iterator().next();
        Host master = pool.getMaster(c);
        assertEquals(2L, master.getAPIVersionMajor(c));
        assertEquals(APIVersion.latest(), c.getAPIVersion());
        Pool.Record r = pool.getRecord(c);
        assertEquals(master, r.master);
        assertNotNull(r.otherConfig);

        // datetimes both ways: the session's last activity is now; a Date as a parameter
        Date lastActive = new Session(c.getSessionReference()).getLastActive(c);
        assertTrue(Math.abs(lastActive.getTime() - System.currentTimeMillis()) < 3_600_000L,
                lastActive.toString());
        Message msg = Message.create(c, "JAVA_TEST", 5L, Types.Cls.POOL, r.uuid, "from junit");
        Map<Message, Message.Record> since = Message.getSince(c, new Date(System.currentTimeMillis() - 60_000L));
        assertTrue(since.containsKey(msg));
        assertTrue(Math.abs(since.get(msg).timestamp.getTime() - System.currentTimeMillis()) < 3_600_000L);
        assertFalse(Message.getSince(c, new Date(System.currentTimeMillis() + 3_600_000L)).containsKey(msg));
    }

    /** Every class's records, each field present: the Record's wire names are the server's. */
    @Test
    @Order(2)
    void everyClassGetAllRecords() throws Exception {
        int classes = 0;
        for (String name : prop("xenapi.classes").split(",")) {
            Class<?> cls = Class.forName("com.xensource.xenapi." + name);
            Map<?, ?> all = (Map<?, ?>) cls.getMethod("getAllRecords", Connection.class).invoke(null, c);
            Set<?> refs = (Set<?>) cls.getMethod("getAll", Connection.class).invoke(null, c);
            assertEquals(refs, all.keySet(), name);
            Class<?> record = Class.forName("com.xensource.xenapi." + name + "$Record");
            for (Map.Entry<?, ?> e : all.entrySet()) {
                assertTrue(cls.isInstance(e.getKey()), name);
                assertTrue(record.isInstance(e.getValue()), name);
                for (Field f : record.getFields()) {
                    if (!Modifier.isStatic(f.getModifiers())) {
                        assertNotNull(f.get(e.getValue()), name + "." + f.getName() + " missing");
                    }
                }
                Object same = cls.getMethod("getRecord", Connection.class).invoke(e.getKey(), c);
                assertEquals(e.getValue().toString(), same.toString(), name);
            }
            classes++;
        }
        assertTrue(classes >= 22, "classes: " + classes);      // 22 in the model today
    }

    /** Clone a template, provision it, add a disk and a NIC; start, suspend, resume, shut down. */
    @Test
    @Order(3)
    void provisionAndLifecycle() throws Exception {
        VM template = VM.getByNameLabel(c, "Generic Linux PV").iterator().next();
        assertTrue(template.getIsATemplate(c));
        vm = template.createClone(c, "java-vm");
        vm.provision(c);
        vm.setIsATemplate(c, false);
        VM.Record r = vm.getRecord(c);
        assertEquals("java-vm", r.nameLabel);
        assertEquals(Types.VmPowerState.HALTED, r.powerState);
        assertTrue(r.allowedOperations.contains(Types.VmOperations.START));
        int disks = r.VBDs.size();

        Pool pool = Pool.getAll(c).iterator().next();
        SR sr = pool.getDefaultSR(c);
        VDI.Record vdiRec = new VDI.Record();
        vdiRec.nameLabel = "java-data";
        vdiRec.SR = sr;
        vdiRec.virtualSize = 64 * MiB;
        vdiRec.type = Types.VdiType.USER;
        vdiRec.sharable = false;
        vdiRec.readOnly = false;
        vdiRec.otherConfig = Map.of("made-by", "junit");
        VDI vdi = VDI.create(c, vdiRec);
        assertEquals(64 * MiB, vdi.getVirtualSize(c));
        assertEquals(Map.of("made-by", "junit"), vdi.getOtherConfig(c));

        VBD.Record vbdRec = new VBD.Record();
        vbdRec.VM = vm;
        vbdRec.VDI = vdi;
        vbdRec.userdevice = "3";
        vbdRec.bootable = false;
        vbdRec.mode = Types.VbdMode.RW;
        vbdRec.type = Types.VbdType.DISK;
        vbdRec.empty = false;
        vbdRec.otherConfig = new HashMap<>();
        vbdRec.qosAlgorithmType = "";
        vbdRec.qosAlgorithmParams = new HashMap<>();
        VBD vbd = VBD.create(c, vbdRec);
        assertEquals(vm, vbd.getVM(c));
        assertEquals(disks + 1, vm.getVBDs(c).size());

        Network net = Network.getAll(c).iterator().next();
        VIF.Record vifRec = new VIF.Record();
        vifRec.device = String.valueOf(vm.getVIFs(c).size());
        vifRec.network = net;
        vifRec.VM = vm;
        vifRec.MAC = "";
        vifRec.MTU = 1500L;
        vifRec.otherConfig = new HashMap<>();
        vifRec.qosAlgorithmType = "";
        vifRec.qosAlgorithmParams = new HashMap<>();
        VIF vif = VIF.create(c, vifRec);
        assertTrue(vm.getVIFs(c).contains(vif));
        assertFalse(vif.getMAC(c).isEmpty());

        vm.start(c, false, false);
        assertEquals(Types.VmPowerState.RUNNING, vm.getPowerState(c));
        assertTrue(vbd.getCurrentlyAttached(c));
        vm.suspend(c);
        assertEquals(Types.VmPowerState.SUSPENDED, vm.getPowerState(c));
        vm.resume(c, false, false);
        assertEquals(Types.VmPowerState.RUNNING, vm.getPowerState(c));
    }

    /** The refusal comes back as the typed exception with its parameters. */
    @Test
    @Order(4)
    void startOnRunningVmIsVmBadPowerState() throws Exception {
        Types.VmBadPowerState e = assertThrows(Types.VmBadPowerState.class,
                () -> vm.start(c, false, false));
        assertEquals(vm.toWireString(), e.vm);
        assertEquals("halted", e.expected);
        assertEquals("running", e.actual);
        assertArrayEquals(new String[] {"VM_BAD_POWER_STATE", vm.toWireString(), "halted", "running"},
                e.errorDescription);
        assertEquals("VM_BAD_POWER_STATE", e.shortDescription);
        assertTrue(e instanceof Types.XenAPIException);
    }

    @Test
    @Order(5)
    void eventFromWithToken() throws Exception {
        EventBatch first = Event.from(c, Set.of("vm"), "", 0.0);
        assertFalse(first.events.isEmpty());
        assertTrue(first.validRefCounts.values().stream().anyMatch(n -> n > 0));
        vm.setNameDescription(c, "changed by junit");
        EventBatch next = Event.from(c, Set.of("vm"), first.token, 10.0);
        assertNotEquals(first.token, next.token);
        Event.Record ev = next.events.stream()
                .filter(e -> e.ref.equals(vm.toWireString())).findFirst().orElseThrow();
        assertEquals("vm", ev.clazz);
        assertEquals(Types.EventOperation.MOD, ev.operation);
        VM.Record snap = assertInstanceOf(VM.Record.class, ev.snapshot);
        assertEquals("changed by junit", snap.nameDescription);
        assertEquals(Types.VmPowerState.RUNNING, snap.powerState);
    }

    @Test
    @Order(6)
    void asyncCallsReturnTasks() throws Exception {
        Task bad = vm.startAsync(c, false, false);
        assertEquals(Types.TaskStatusType.FAILURE, waitFor(bad));
        assertEquals(List.of("VM_BAD_POWER_STATE", vm.toWireString(), "halted", "running"),
                new ArrayList<>(bad.getErrorInfo(c)));
        bad.destroy(c);

        Task shutdown = vm.shutdownAsync(c);
        assertEquals(Types.TaskStatusType.SUCCESS, waitFor(shutdown));
        assertEquals(Types.VmPowerState.HALTED, vm.getPowerState(c));

        Task clone = vm.createCloneAsync(c, "java-async-clone");
        assertEquals(Types.TaskStatusType.SUCCESS, waitFor(clone));
        VM copy = Types.toVM(clone, c);
        assertEquals("java-async-clone", copy.getNameLabel(c));
        assertEquals(Types.VmPowerState.HALTED, copy.getPowerState(c));
        assertEquals(1.0, clone.getProgress(c));
        clone.destroy(c);
    }

    Types.TaskStatusType waitFor(Task t) throws Exception {
        for (int i = 0; i < 1200 && t.getStatus(c) == Types.TaskStatusType.PENDING; i++) {
            Thread.sleep(50);
        }
        return t.getStatus(c);
    }

    @Test
    @Order(7)
    void badSessionAndBadLogin() throws Exception {
        String bogus = "OpaqueRef:11111111-2222-4333-8444-555555555555";
        Connection other = new Connection(new URL(prop("xenapi.url")), bogus);
        Types.SessionInvalid e = assertThrows(Types.SessionInvalid.class, () -> Pool.getAll(other));
        assertEquals(bogus, e.handle);
        Types.XenAPIException f = assertThrows(Types.XenAPIException.class,
                () -> Session.loginWithPassword(new Connection(new URL(prop("xenapi.url"))), "root", "wrong"));
        assertEquals("SESSION_AUTHENTICATION_FAILED", f.shortDescription);
    }

    /** What a newer server may send: unknown fields and enum values, Infinity, NaN, new errors. */
    @Test
    @Order(8)
    void toleratesWhatItDoesNotKnow() throws Exception {
        String[] replies = {
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"uuid\":\"u1\",\"power_state\":\"Levitating\","
                + "\"HVM_shadow_multiplier\":Infinity,\"future_field\":{\"x\":[1,2]},"
                + "\"allowed_operations\":[\"start\",\"teleport\"],\"last_booted_record\":\"\","
                + "\"current_operations\":{\"t1\":\"hibernate\"}}}",
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":NaN}",
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":1,\"message\":\"BRAND_NEW_ERROR\",\"data\":[\"a\",\"b\"]}}",
            "{\"id\":4,\"result\":null,\"error\":[\"VM_BAD_POWER_STATE\",\"OpaqueRef:x\",\"halted\",\"paused\"]}",
            "<html>not json</html>",
        };
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        int[] next = {0};
        List<String> requests = new ArrayList<>();
        server.createContext("/", ex -> {
            requests.add(ex.getRequestURI().getPath() + " "
                    + new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            byte[] body = replies[next[0]++].getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
        try {
            Connection fake = new Connection(new URL("http://127.0.0.1:" + server.getAddress().getPort()), "OpaqueRef:s");
            VM v = new VM("OpaqueRef:v");
            VM.Record r = v.getRecord(fake);
            assertEquals("u1", r.uuid);
            assertEquals(Types.VmPowerState.UNRECOGNIZED, r.powerState);
            assertEquals(Double.POSITIVE_INFINITY, r.HVMShadowMultiplier);
            assertEquals(Set.of(Types.VmOperations.START, Types.VmOperations.UNRECOGNIZED), r.allowedOperations);
            assertEquals(Map.of("t1", Types.VmOperations.UNRECOGNIZED), r.currentOperations);
            assertTrue(requests.get(0).startsWith("/jsonrpc {\"jsonrpc\":\"2.0\",\"method\":\"VM.get_record\","
                    + "\"params\":[\"OpaqueRef:s\",\"OpaqueRef:v\"]"), requests.get(0));

            assertTrue(Double.isNaN(v.getHVMShadowMultiplier(fake)));
            Types.XenAPIException unknown = assertThrows(Types.XenAPIException.class, () -> v.getUuid(fake));
            assertArrayEquals(new String[] {"BRAND_NEW_ERROR", "a", "b"}, unknown.errorDescription);
            Types.VmBadPowerState old = assertThrows(Types.VmBadPowerState.class, () -> v.start(fake, false, false));
            assertEquals("paused", old.actual);
            assertThrows(Types.BadServerResponse.class, () -> v.getUuid(fake));
        } finally {
            server.stop(0);
        }
    }

    /** HTTPS trusting the host's self-signed certificate; the JDK's default trust refuses it. */
    @Test
    @Order(9)
    void httpsWithTheServersCertificate() throws Exception {
        Matcher pem = Pattern.compile("-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
                Pattern.DOTALL).matcher(Files.readString(Path.of(prop("xenapi.cert"))));
        assertTrue(pem.find());
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        trust.setCertificateEntry("server", CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(pem.group().getBytes(StandardCharsets.US_ASCII))));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);

        Connection tls = new Connection(new URL(prop("xenapi.https")), ssl);
        Session.loginWithPassword(tls, "root", prop("xenapi.password"));
        assertEquals(Pool.getAll(c), Pool.getAll(tls));
        Session.logout(tls);

        IOException refused = assertThrows(IOException.class, () -> Session.loginWithPassword(
                new Connection(new URL(prop("xenapi.https"))), "root", prop("xenapi.password")));
        assertFalse(refused instanceof Types.XenAPIException, refused.toString());
    }
}
