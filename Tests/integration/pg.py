"""A throw-away PostgreSQL server for the tests, through scripts/postgres-server.sh (the same lifecycle the Swift
tests use): a cluster of its own in a temporary directory, on 127.0.0.1 at a free port, superuser `kgb` with
password `kgb-test` over TCP. As root it runs as the `postgres` user (the server refuses root). Queries go through
`psql` over the server's Unix socket, so the tests need no Python driver."""
import glob
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "postgres-server.sh")
USER, PASSWORD = "kgb", "kgb-test"


def available():
    return bool(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


class PostgresServer:
    def __init__(self, port):
        self.port = port
        # Not pytest's tmp_path: its parents are private to root, and the server runs as another user.
        self.directory = tempfile.mkdtemp(prefix="kgb-pg-")
        self._run("init", str(port))
        self.start()

    def _run(self, command, *args, input=None):
        return subprocess.run(["bash", SCRIPT, command, self.directory, *args], input=input, capture_output=True,
                              text=True, check=True, timeout=120).stdout

    def start(self):
        self._run("start")

    def stop(self):
        """A fast shutdown, as a restart or a failover does: connections are cut at once."""
        self._run("stop")

    def destroy(self):
        self._run("destroy")

    def url(self, database="postgres", password=True):
        credentials = f"{USER}:{PASSWORD}" if password else USER
        return f"postgres://{credentials}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql, database="postgres", **variables):
        """Runs `sql` (read from stdin, so psql's :'name' quoting of `variables` applies) and returns the rows, each
        a list of column texts."""
        args = [f"--variable={name}={value}" for name, value in variables.items()]
        output = self._run("psql", "--dbname", database, "--no-align", "--tuples-only", "--field-separator=\t",
                           "--set=ON_ERROR_STOP=1", *args, input=sql)
        return [line.split("\t") for line in output.splitlines() if line]

    def create_database(self, name):
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);")
        self.psql(f"CREATE DATABASE {name};")
        return self.url(name)
