"""A minimal FreeRADIUS 3 configuration (Debian's ``freeradius`` package) in a directory of its
own: the stock dictionary (FreeRADIUS loads /usr/share/freeradius/dictionary itself), loopback
listeners, and either ``rlm_sql`` on ispcore's database (stock ``queries.conf`` of the
dialect) or ``rlm_files`` with a users file.

Shared by ``tests/peers/test_freeradius.py`` (sql, with accounting) and
``bench/radius_auth.py`` (files and sql, authentication at full speed). Imports nothing of
ispcore but SQLAlchemy's URL parser."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy.engine import make_url

FREERADIUS = shutil.which("freeradius") or "/usr/sbin/freeradius"
STOCK = Path("/etc/freeradius/3.0")
LIBDIR = Path("/usr/lib/freeradius")


def sql_module(database_url: str, *, pool_start: int = 1, pool_max: int = 4) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        dialect = "postgresql"
        connection = (f'\tserver = "{url.host or "127.0.0.1"}"\n\tport = {url.port or 5432}\n'
                      f'\tlogin = "{url.username or "postgres"}"\n'
                      f'\tpassword = "{url.password or ""}"\n\tradius_db = "{url.database}"\n')
    else:
        dialect = "sqlite"
        connection = (f'\tsqlite {{\n\t\tfilename = "{url.database}"\n'
                      "\t\tbusy_timeout = 5000\n\t}\n")
    return f"""sql {{
	dialect = "{dialect}"
	driver = "rlm_sql_${{dialect}}"
{connection}	acct_table1 = "radacct"
	acct_table2 = "radacct"
	postauth_table = "radpostauth"
	authcheck_table = "radcheck"
	groupcheck_table = "radgroupcheck"
	authreply_table = "radreply"
	groupreply_table = "radgroupreply"
	usergroup_table = "radusergroup"
	client_table = "nas"
	read_clients = no
	delete_stale_sessions = yes
	group_attribute = "SQL-Group"
	pool {{
		start = {pool_start}
		min = {pool_start}
		max = {pool_max}
		spare = {max(pool_max - pool_start, 1)}
		uses = 0
		retry_delay = 1
		lifetime = 0
		idle_timeout = 60
	}}
	$INCLUDE {STOCK}/mods-config/sql/main/${{dialect}}/queries.conf
}}
"""


def write_config(conf_dir: Path, database_url: str | None, clients: str, auth_port: int,
                 acct_port: int, *, users_file: Path | None = None, threads: int = 4,
                 log_to: str = "stdout") -> None:
    """``radiusd.conf`` and ``clients.conf`` in ``conf_dir``: pap, chap, and ``sql`` on
    ``database_url`` (with the stock accounting policy, acct_unique), or ``files`` reading
    ``users_file`` when no database is given. ``threads`` is the worker pool (and the SQL
    connection pool); ``log_to`` is ``stdout`` or ``files`` (``conf_dir/radius.log``)."""
    (conf_dir / "clients.conf").write_text(clients)
    if database_url is not None:
        store = sql_module(database_url, pool_start=min(threads, 4), pool_max=threads)
        authorize, accounting = "sql", "sql"
    elif users_file is not None:
        store = (f"\tfiles {{\n\t\tfilename = {users_file}\n\t}}\n"
                 "\talways ok {\n\t\trcode = ok\n\t}\n")
        authorize, accounting = "files", "ok"
    else:
        raise ValueError("a database URL or a users file")
    (conf_dir / "radiusd.conf").write_text(f"""
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = {conf_dir}
raddbdir = {conf_dir}
radacctdir = {conf_dir}
name = freeradius
confdir = {conf_dir}
modconfdir = {STOCK}/mods-config
run_dir = {conf_dir}
db_dir = {conf_dir}
libdir = {LIBDIR}
pidfile = {conf_dir}/radiusd.pid
max_request_time = 10
cleanup_delay = 0
max_requests = 16384
hostname_lookups = no
log {{
	destination = {log_to}
	file = {conf_dir}/radius.log
}}
security {{
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = no
}}
thread pool {{
	start_servers = {threads}
	max_servers = {threads}
	min_spare_servers = 1
	max_spare_servers = {threads}
	max_queue_size = 65536
}}
$INCLUDE {conf_dir}/clients.conf
listen {{
	type = auth
	ipaddr = 127.0.0.1
	port = {auth_port}
	virtual_server = default
}}
listen {{
	type = acct
	ipaddr = 127.0.0.1
	port = {acct_port}
	virtual_server = default
}}
policy {{
	$INCLUDE {STOCK}/policy.d/accounting
}}
modules {{
	# tolower (the accounting queries' reference) and md5 (acct_unique) come from rlm_expr.
	expr {{
	}}
	pap {{
	}}
	chap {{
	}}
{store}
}}
server default {{
	authorize {{
		{authorize}
		pap
		chap
	}}
	authenticate {{
		Auth-Type PAP {{
			pap
		}}
		Auth-Type CHAP {{
			chap
		}}
	}}
	preacct {{
		acct_unique
	}}
	accounting {{
		{accounting}
	}}
}}
""")
