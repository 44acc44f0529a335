-- The DuckLake catalog's database, beside the Dagster instance's (docker-compose.yml).
CREATE DATABASE lake;
