"""The store side (issue 17): the terminals' journals replicated to one PostgreSQL. Only a terminal with a
``[store]`` section loads it, so psycopg is imported lazily; drivers and the journal never import it."""
