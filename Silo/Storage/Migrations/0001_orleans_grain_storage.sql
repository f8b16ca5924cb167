-- Orleans ADO.NET grain storage (Microsoft.Orleans.Persistence.AdoNet), our own PostgreSQL schema.
-- The provider reads its SQL from OrleansQuery at start-up; see shared notes, "orleans-adonet-contract".
-- Optimistic concurrency: every write names the version it read; a stale version writes nothing and returns
-- no row, which Orleans turns into InconsistentStateException.

CREATE TABLE OrleansQuery (
    QueryKey  varchar(64) PRIMARY KEY,
    QueryText text        NOT NULL
);

CREATE TABLE orleans_storage (
    service_id     text        NOT NULL,
    grain_type     text        NOT NULL,
    grain_id_n0    bigint      NOT NULL,
    grain_id_n1    bigint      NOT NULL,
    -- string keys; '' for integer and Guid keys, so that the primary key has no NULL in it
    grain_id_ext   text        NOT NULL,
    payload        bytea,
    version        integer     NOT NULL,
    modified_on    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, grain_type, grain_id_n0, grain_id_n1, grain_id_ext)
);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('ReadFromStorageKey', $sql$
SELECT payload AS "PayloadBinary", version AS "Version"
FROM orleans_storage
WHERE service_id = @ServiceId
  AND grain_type = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0
  AND grain_id_n1 = @GrainIdN1
  AND grain_id_ext = COALESCE(CAST(@GrainIdExtensionString AS text), '')
$sql$),

('WriteToStorageKey', $sql$
WITH updated AS (
    UPDATE orleans_storage
    SET payload = @PayloadBinary, version = version + 1, modified_on = now()
    WHERE service_id = @ServiceId
      AND grain_type = @GrainTypeString
      AND grain_id_n0 = @GrainIdN0
      AND grain_id_n1 = @GrainIdN1
      AND grain_id_ext = COALESCE(CAST(@GrainIdExtensionString AS text), '')
      AND version = CAST(@GrainStateVersion AS integer)
    RETURNING version
), inserted AS (
    INSERT INTO orleans_storage (service_id, grain_type, grain_id_n0, grain_id_n1, grain_id_ext, payload, version)
    SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1,
           COALESCE(CAST(@GrainIdExtensionString AS text), ''), @PayloadBinary, 1
    WHERE CAST(@GrainStateVersion AS integer) IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version
)
SELECT version AS "NewGrainStateVersion" FROM updated
UNION ALL
SELECT version FROM inserted
$sql$),

('ClearStorageKey', $sql$
WITH updated AS (
    UPDATE orleans_storage
    SET payload = NULL, version = version + 1, modified_on = now()
    WHERE service_id = @ServiceId
      AND grain_type = @GrainTypeString
      AND grain_id_n0 = @GrainIdN0
      AND grain_id_n1 = @GrainIdN1
      AND grain_id_ext = COALESCE(CAST(@GrainIdExtensionString AS text), '')
      AND version = CAST(@GrainStateVersion AS integer)
    RETURNING version
), inserted AS (
    INSERT INTO orleans_storage (service_id, grain_type, grain_id_n0, grain_id_n1, grain_id_ext, payload, version)
    SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1,
           COALESCE(CAST(@GrainIdExtensionString AS text), ''), NULL, 1
    WHERE CAST(@GrainStateVersion AS integer) IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version
)
SELECT version FROM updated
UNION ALL
SELECT version FROM inserted
$sql$),

('DeleteStorageKey', $sql$
DELETE FROM orleans_storage
WHERE service_id = @ServiceId
  AND grain_type = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0
  AND grain_id_n1 = @GrainIdN1
  AND grain_id_ext = COALESCE(CAST(@GrainIdExtensionString AS text), '')
  AND version = CAST(@GrainStateVersion AS integer)
RETURNING version + 1
$sql$);
