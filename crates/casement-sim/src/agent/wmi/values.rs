//! The values of the computed WMI classes: a Windows 8.1 Pro (6.3.9600) virtual machine, or the
//! device's Windows 10/11 build for the `Win32_*` classes.
//!
//! `MDM_WNSChannel.ChannelStatus` is 0 while the channel is usable and 1 once it expired or was
//! revoked (inferred: the class page says only uint32). `MDM_AppInstallJob.Status`: see
//! [`super::methods`].

use casement_dm::device::NodeValue;
use time::Duration;

use super::super::AgentState;
use super::super::clock::cim_datetime;
use super::super::nodes::{Facts, boolean, chr, int, ipv4};
use super::super::tree::{AppKind, JobState, TreeEnv};
use super::classes::{ClassSpec, Instance};
use super::methods::{JOB_STATUS_COMPLETED, JOB_STATUS_FAILED, JOB_STATUS_IN_PROGRESS};

/// The instances of a [`super::classes::Kind::Computed`] class.
pub fn computed(class: &ClassSpec, env: &TreeEnv<'_>, state: &AgentState) -> Vec<Instance> {
    let device = env.device;
    let facts = Facts::of(device);
    let one = |keys: Vec<NodeValue>| Instance::new(class, keys);
    match class.name {
        "Win32_OperatingSystem" => vec![
            one(vec![chr(format!(
                "{}|C:\\Windows|\\Device\\Harddisk0\\Partition2",
                facts.os_caption
            ))])
            .with("Caption", chr(facts.os_caption.clone()))
            .with("Version", chr(facts.os_version.clone()))
            .with("BuildNumber", chr(facts.build.clone()))
            .with("OSArchitecture", chr("64-bit"))
            .with("Manufacturer", chr("Microsoft Corporation"))
            .with("CSName", chr(device.device_name.clone()))
            .with("SerialNumber", chr("00261-80000-00000-AA535"))
            .with("OperatingSystemSKU", int(device.hardware.os_edition))
            .with("ProductType", int(1))
            .with("OSLanguage", int(1033))
            .with("Locale", chr("0409"))
            .with("CountryCode", chr("1"))
            .with("ServicePackMajorVersion", int(0))
            .with("SystemDrive", chr("C:"))
            .with("WindowsDirectory", chr("C:\\Windows"))
            .with(
                "InstallDate",
                chr(cim_datetime(device.enrolled_at - Duration::days(1))),
            )
            .with("LastBootUpTime", chr(cim_datetime(state.last_boot)))
            .with("LocalDateTime", chr(cim_datetime(env.now)))
            .with("TotalVisibleMemorySize", int(facts.ram_mb * 1024))
            .with("FreePhysicalMemory", int(facts.ram_mb * 512))
            .with("Status", chr("OK")),
        ],
        "Win32_ComputerSystem" => {
            let user = if state.user.is_logged_on() {
                let account = device.upn.split('@').next().unwrap_or(&device.upn);
                format!("{}\\{account}", device.device_name)
            } else {
                String::new()
            };
            vec![
                one(vec![chr(device.device_name.clone())])
                    .with("Manufacturer", chr(facts.manufacturer))
                    .with("Model", chr(facts.model))
                    .with("Domain", chr("WORKGROUP"))
                    .with("Workgroup", chr("WORKGROUP"))
                    .with("PartOfDomain", boolean(false))
                    .with("DNSHostName", chr(device.device_name.clone()))
                    .with("SystemType", chr("x64-based PC"))
                    .with("NumberOfProcessors", int(1))
                    .with("NumberOfLogicalProcessors", int(2))
                    .with("TotalPhysicalMemory", int(facts.ram_mb * 1024 * 1024))
                    .with("PCSystemType", int(1))
                    .with("UserName", chr(user))
                    .with("Status", chr("OK")),
            ]
        }
        "Win32_BIOS" => vec![
            one(vec![
                chr(facts.firmware),
                chr(facts.firmware),
                int(3),
                int(0),
                chr("INTEL  - 6040000"),
            ])
            .with("Manufacturer", chr(facts.manufacturer))
            .with("SMBIOSBIOSVersion", chr(facts.firmware))
            .with("SerialNumber", chr(facts.serial.clone()))
            .with("ReleaseDate", chr("20200807000000.000000+000"))
            .with("PrimaryBIOS", boolean(true))
            .with("Status", chr("OK")),
        ],
        "Win32_ComputerSystemProduct" => vec![
            one(vec![
                chr(facts.serial.clone()),
                chr(facts.model),
                chr("None"),
            ])
            .with("Vendor", chr(facts.manufacturer))
            .with("UUID", chr(uuid_of(&device.hardware.hw_dev_id))),
        ],
        "Win32_Processor" => vec![
            one(vec![chr("CPU0")])
                .with("Name", chr(facts.processor))
                .with("Manufacturer", chr("GenuineIntel"))
                .with("NumberOfCores", int(2))
                .with("NumberOfLogicalProcessors", int(2))
                .with("MaxClockSpeed", int(2095))
                .with("Architecture", int(9))
                .with("AddressWidth", int(64)),
        ],
        "Win32_LogicalDisk" => vec![
            one(vec![chr("C:")])
                .with("DriveType", int(3))
                .with("FileSystem", chr("NTFS"))
                .with("Size", int(facts.disk_mb * 1024 * 1024))
                .with("FreeSpace", int(facts.disk_mb * 1024 * 1024 / 2))
                .with("VolumeName", chr("")),
        ],
        "Win32_NetworkAdapter" => device
            .hardware
            .macs
            .iter()
            .enumerate()
            .map(|(i, mac)| {
                one(vec![chr(i.to_string())])
                    .with("MACAddress", chr(mac.replace('-', ":")))
                    .with("Name", chr("Intel(R) 82574L Gigabit Network Connection"))
                    .with("AdapterType", chr("Ethernet 802.3"))
                    .with("NetConnectionID", chr(format!("Ethernet{i}")))
                    .with("NetEnabled", boolean(true))
                    .with("PhysicalAdapter", boolean(true))
                    .with("Speed", int(1_000_000_000u64))
                    .with("IPAddress", chr(ipv4(i)))
            })
            .collect(),
        "MDM_Client" => vec![
            one(vec![chr(device.device_id.clone())])
                .with("DomainSID", chr(domain_sid(&state.user_sid)))
                .with("PlatformID", chr(facts.os_caption.clone()))
                .with("DeviceName", chr(device.device_name.clone()))
                .with("ProcessorDescription", chr(facts.processor))
                .with("UserSid", chr(state.user_sid.clone()))
                .with("Version", chr(facts.os_version.clone())),
        ],
        "MDM_SecurityStatus" => vec![
            one(vec![chr("1")])
                .with("FirewallStatus", int(0))
                .with("AutoUpdateStatus", int(0))
                .with("AntiVirusStatus", int(0))
                .with("AntiVirusSignatureStatus", int(0))
                .with_writable("RequireEncryption", boolean(false))
                .with_writable("MaintenanceScheduleStartHour", int(state.maintenance.hour))
                .with_writable("MaintenanceScheduleDelayPattern", chr("PT30M"))
                .with_writable("MaintenanceScheduleAllowWakeup", boolean(false))
                .with_writable("IsMicrosoftAccountOptional", boolean(false))
                .with_writable("ApplicationContentUriRules", chr("")),
        ],
        "MDM_WNSConfiguration" => state
            .tree
            .wns
            .values()
            .map(|c| one(vec![chr(c.app_id.clone())]).with("ConfigurationStatus", int(1)))
            .collect(),
        "MDM_WNSChannel" => state
            .tree
            .wns
            .values()
            .filter_map(|c| c.channel.as_ref().map(|ch| (c, ch)))
            .map(|(c, ch)| {
                let usable = !ch.revoked && ch.expires_at > env.now;
                one(vec![chr(c.app_id.clone())])
                    .with("UserSID", chr(state.user_sid.clone()))
                    .with("Channel", chr(ch.uri.clone()))
                    .with("ExpirationTime", chr(cim_datetime(ch.expires_at)))
                    .with("ChannelStatus", int(u32::from(!usable)))
                    .with("LastError", int(0))
            })
            .collect(),
        "MDM_AppInstallJob" => state
            .tree
            .jobs
            .iter()
            .filter(|j| j.kind == AppKind::WmiJob)
            .map(|j| {
                let (status, progress) = match j.state {
                    JobState::Created | JobState::InProgress => (JOB_STATUS_IN_PROGRESS, 50),
                    JobState::Completed => (JOB_STATUS_COMPLETED, 100),
                    JobState::Failed => (JOB_STATUS_FAILED, 0),
                };
                one(vec![chr(j.id.clone())])
                    .with("PackageFullName", chr(j.package.clone()))
                    .with("Status", int(status))
                    .with("LastError", int(0))
                    .with("Progress", int(progress))
                    .with("CreationTime", chr(cim_datetime(j.created_at)))
                    .with("ActionType", int(0))
                    .with("JobType", int(0))
                    .with("DeploymentOptions", int(0))
            })
            .collect(),
        "MDM_Application" => state
            .tree
            .apps
            .iter()
            .filter(|a| a.kind == AppKind::WmiJob)
            .map(|a| {
                one(vec![chr(a.full_name.clone())])
                    .with("UserSID", chr(state.user_sid.clone()))
                    .with("PackageName", chr(a.name.clone()))
                    .with("PackagePublisher", chr(a.publisher.clone()))
                    .with("PackageVersion", chr(a.version.clone()))
                    .with(
                        "InstallPath",
                        chr(format!("C:\\Program Files\\WindowsApps\\{}", a.full_name)),
                    )
                    .with("IsFramework", boolean(false))
                    .with("IsResourcePackage", boolean(false))
                    .with("IsBundle", boolean(false))
                    .with("IsDevelopmentMode", boolean(false))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `S-1-5-21-a-b-c` of a user SID.
fn domain_sid(user_sid: &str) -> String {
    user_sid
        .rsplit_once('-')
        .map_or(user_sid, |(domain, _)| domain)
        .to_owned()
}

/// A UUID-shaped string from the HWDevID.
fn uuid_of(hw: &str) -> String {
    let hex: String = hw
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(32)
        .collect();
    let hex = format!("{hex:0<32}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
