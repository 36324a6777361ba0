-- Device actions (issue 15 part 1): wipe, reboot and lock are command classes of their own, so
-- that the per-platform policy table decides where each goes (casement_dm::CommandClass).
-- Rows of the lookup table since 0008: no table rebuild.
INSERT INTO command_classes (name) VALUES ('wipe'), ('reboot'), ('lock');
