"""Throw-away certificates for the TLS tests, made with the `openssl` command: a test CA, and server
certificates that are good, name the wrong host, have expired, or come from a CA nobody trusts."""
import os
import subprocess

CA_CONFIG = """
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}
serial = {dir}/serial
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[ anything ]
commonName = supplied
"""


def _run(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(directory, name):
    _run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
         "-days", "30", "-subj", f"/CN=kgb test {name}", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)


def _server(directory, name, ca, san, expired=False):
    with open(os.path.join(directory, f"{name}.ext"), "w") as ext:
        ext.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    _run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
         "-subj", f"/CN={name}", cwd=directory)
    if expired:
        # `openssl ca` is the one that takes explicit dates.
        with open(os.path.join(directory, "ca.cnf"), "w") as config:
            config.write(CA_CONFIG.format(dir=directory))
        open(os.path.join(directory, "index.txt"), "w").close()
        with open(os.path.join(directory, "serial"), "w") as serial:
            serial.write("1000\n")
        _run("ca", "-batch", "-config", "ca.cnf", "-cert", f"{ca}.pem", "-keyfile", f"{ca}.key", "-in", f"{name}.csr",
             "-out", f"{name}.pem", "-startdate", "20200101000000Z", "-enddate", "20210101000000Z",
             "-extfile", f"{name}.ext", cwd=directory)
    else:
        _run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-days", "30", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=directory)


def make(directory):
    """Writes the set into `directory`; returns {name: (cert, key)} plus 'ca' → the trusted CA file."""
    os.makedirs(directory, exist_ok=True)
    _ca(directory, "ca")
    _ca(directory, "rogue")
    _server(directory, "good", "ca", "DNS:localhost,IP:127.0.0.1")
    _server(directory, "wrong-host", "ca", "DNS:wrong.example")
    _server(directory, "expired", "ca", "DNS:localhost,IP:127.0.0.1", expired=True)
    _server(directory, "untrusted", "rogue", "DNS:localhost,IP:127.0.0.1")
    path = lambda name: os.path.join(directory, name)
    certs = {name: (path(f"{name}.pem"), path(f"{name}.key")) for name in ("good", "wrong-host", "expired", "untrusted")}
    certs["ca"] = path("ca.pem")
    return certs
