-- Runs once when the postgres container initialises its volume: the schema registry keeps its schemas in
-- a database of its own, so a restart never forgets the ids that stored Kafka messages refer to.
create database vigil_schemas;
