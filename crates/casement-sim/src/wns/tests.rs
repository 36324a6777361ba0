use std::fs;
use std::path::Path;

use super::{DriverError, find_device_dir};

fn device(dir: &Path, id: &str) {
    fs::create_dir_all(dir).unwrap();
    fs::write(
        dir.join("device.json"),
        serde_json::json!({ "device_id": id }).to_string(),
    )
    .unwrap();
}

#[test]
fn device_dirs_are_found_by_id_then_by_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    device(&root.join("ann"), "AAAA");
    device(&root.join("bob"), "BBBB");
    device(&root.join("CCCC"), "CCCC");
    // A directory named after another device's ID does not win over its own device.json.
    device(&root.join("DDDD"), "EEEE");
    fs::create_dir_all(root.join("empty")).unwrap();
    fs::write(root.join("loose.json"), "{}").unwrap();

    assert_eq!(find_device_dir(root, "AAAA").unwrap(), root.join("ann"));
    assert_eq!(find_device_dir(root, "BBBB").unwrap(), root.join("bob"));
    assert_eq!(find_device_dir(root, "CCCC").unwrap(), root.join("CCCC"));
    assert_eq!(find_device_dir(root, "EEEE").unwrap(), root.join("DDDD"));
    assert!(matches!(
        find_device_dir(root, "DDDD"),
        Err(DriverError::UnknownDevice { .. })
    ));
    assert!(matches!(
        find_device_dir(root, "../x"),
        Err(DriverError::UnknownDevice { .. })
    ));
    assert!(matches!(
        find_device_dir(&root.join("missing"), "AAAA"),
        Err(DriverError::Io { .. })
    ));
}
