-- Command classes are rows of a lookup table, not a CHECK list: a new class is one migration
-- that inserts its name (docs/architecture.md, "Adding a command class"). The names are
-- casement_dm::CommandClass::as_str; a test checks that every class of the enum is here.
CREATE TABLE command_classes (
    name TEXT PRIMARY KEY
);
INSERT INTO command_classes (name) VALUES
    ('inventory'), ('password-reset'), ('unenrollment'), ('push-configuration'),
    ('app-management'), ('settings');

ALTER TABLE commands DROP CONSTRAINT commands_class_check;
ALTER TABLE commands ADD CONSTRAINT commands_class_known
    FOREIGN KEY (class) REFERENCES command_classes(name);
