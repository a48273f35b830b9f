"""xl.cfg parsing."""
from __future__ import annotations

import pytest

from xenlight_py import ConfigError, DiskFormat, DomainType, ShutdownAction
from xenlight_py import xlcfg


def test_full_config() -> None:
    text = """
    name = "vm"   # comment
    type = "hvm"; memory = 1024; maxmem = 2048
    vcpus = 2
    maxvcpus = 4
    cpus = "0-3,6"
    boot = "dc"
    disk = [ 'format=qcow2, vdev=hda, access=rw, target=/img/a,b.qcow2',
             '/img/c.iso,raw,hdc:cdrom,r',
             ',,hdd:cdrom,r',
           ]
    vif = [ 'mac=00:16:3e:00:00:01,bridge=xenbr0,model=e1000,rate=10Mb/s,mtu=9000',
            'bridge=xenbr1,ip=10.0.0.2,script=vif-route,vifname=v1' ]
    on_crash = "preserve"
    on_reboot = "destroy"
    uuid = "12345678-1234-1234-1234-123456789abc"
    """
    cfg = xlcfg.to_domain_config(xlcfg.parse(text))
    assert cfg.type == DomainType.HVM and cfg.memory == 1024 and cfg.maxmem == 2048
    assert (cfg.vcpus, cfg.max_vcpus) == (2, 4)
    assert cfg.cpus == {0, 1, 2, 3, 6}
    a, c, d = cfg.disks
    assert (a.vdev, a.target, a.format, a.readwrite) == ("hda", "/img/a,b.qcow2",
                                                         DiskFormat.QCOW2, True)
    assert (c.vdev, c.target, c.is_cdrom, c.readwrite) == ("hdc", "/img/c.iso", True, False)
    assert (d.vdev, d.target, d.is_cdrom, d.format) == ("hdd", None, True, DiskFormat.EMPTY)
    n0, n1 = cfg.nics
    assert (n0.mac, n0.bridge, n0.model, n0.rate, n0.mtu) == (
        "00:16:3e:00:00:01", "xenbr0", "e1000", 1_250_000, 9000)
    assert (n1.ip, n1.script, n1.ifname) == ("10.0.0.2", "vif-route", "v1")
    assert cfg.on_crash == ShutdownAction.PRESERVE
    assert cfg.on_reboot == ShutdownAction.DESTROY


def test_pv_cmdline_from_root_and_extra() -> None:
    cfg = xlcfg.to_domain_config(xlcfg.parse(
        'name="p"\nkernel="/k"\nroot="/dev/xvda1 ro"\nextra="console=hvc0"\n'))
    assert cfg.type == DomainType.PV
    assert cfg.cmdline == "root=/dev/xvda1 ro console=hvc0"


@pytest.mark.parametrize("text, message", [
    ('name = "a"\nmemory = \n', "missing value|expected a value"),
    ('name = "a" kernel = "/k"\n', "unexpected"),
    ('name = "a"\nkernel = "/k"\nfoo = 1\n', "unsupported setting"),
    ('kernel = "/k"\n', "name is required"),
    ('name = "a"\nkernel = "/k"\ntype = "kvm"\n', "pv, pvh or hvm"),
    ('name = "a"\nkernel = "/k"\non_crash = "explode"\n', "on_crash"),
    ('name = "a"\nkernel = "/k"\ndisk = [ "vdev=xvda,format=vmdk,target=/x" ]\n', "format"),
    ('name = "a"\nkernel = "/k"\nvif = [ "rate=fast" ]\n', "rate"),
    ('name = "a"\nkernel = "/k"\nvif = [ "colour=blue" ]\n', "unknown key"),
    ('name = "a"\nkernel = "/k"\ndisk = [ "/x,raw" ]\n', "no vdev"),
    ('name = "a"\n$\n', "unexpected character"),
])
def test_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as ei:
        xlcfg.to_domain_config(xlcfg.parse(text, "t.cfg"), "t.cfg")
    assert "t.cfg" in str(ei.value)


def test_rates() -> None:
    assert xlcfg.parse_rate("100KB/s") == 100_000
    assert xlcfg.parse_rate("8Mb/s") == 1_000_000
    assert xlcfg.parse_rate("1GB/s@20ms") == 10**9
