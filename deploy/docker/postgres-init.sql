-- The schema registry keeps its schemas in PostgreSQL, in a database of its own.
CREATE DATABASE registry OWNER studystream;
