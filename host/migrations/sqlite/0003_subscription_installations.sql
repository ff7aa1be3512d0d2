-- Which installation each subscription saga run made (or is making), so the installer is
-- idempotent per run: a replay after a crash finds the id chosen before `install()` ran, and a
-- compensation can remove what it could not otherwise name.
CREATE TABLE saga_installations (
    run_id        TEXT PRIMARY KEY,
    installation  TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL
);
