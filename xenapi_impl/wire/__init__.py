"""Wire codecs: request bytes -> (method, params), Python values -> response bytes.

`xmlrpc` and `jsonrpc` are the two protocols; the rules are in README.md beside this file.
"""
