"""What the server remembers of tasks: the store that outlives the process (store, schema, rows) on its
engine (engines: SQLite, the default; postgres: a database many machines share), the
service's typed async access to it (access), and the in-process cache of the same facts (memory).

May import: wiro (the typed answers) and the shared modules.
"""
