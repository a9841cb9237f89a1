//! Linux: Landlock rules, seccomp filters, capabilities and limits.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use landlock::{
    Access, AccessFs, AccessNet, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, Scope, ABI,
};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::{Limits, SandboxError, SandboxMode, SandboxPolicy, Support};

/// The Landlock ABI our rules are written for; older kernels get what they support.
const ABI_TARGET: ABI = ABI::V6;

pub(crate) struct Prepared {
    /// The Landlock ruleset, `None` with the sandbox off.
    ruleset: Option<OwnedFd>,
    /// seccomp programs, installed in order (empty with the sandbox off).
    filters: Vec<BpfProgram>,
    limits: Limits,
}

pub(crate) fn probe() -> Support {
    // SAFETY: asking for the ABI version with a null attribute is the documented probe.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32, // LANDLOCK_CREATE_RULESET_VERSION
        )
    };
    let landlock = if abi > 0 {
        Ok(abi as u32)
    } else {
        let e = std::io::Error::last_os_error();
        Err(match e.raw_os_error() {
            Some(libc::ENOSYS) => "the kernel has no Landlock".to_string(),
            Some(libc::EOPNOTSUPP) => {
                "Landlock is disabled at boot (add `landlock` to lsm=)".into()
            }
            _ => e.to_string(),
        })
    };
    let seccomp = match target_arch() {
        None => Err(format!("no seccomp filter for {}", std::env::consts::ARCH)),
        Some(_) => {
            // SAFETY: reading the calling thread's seccomp mode has no side effect.
            let mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
            if mode < 0 {
                Err(format!(
                    "the kernel has no seccomp ({})",
                    std::io::Error::last_os_error()
                ))
            } else {
                Ok(())
            }
        }
    };
    Support { landlock, seccomp }
}

fn target_arch() -> Option<TargetArch> {
    match std::env::consts::ARCH {
        "x86_64" => Some(TargetArch::x86_64),
        "aarch64" => Some(TargetArch::aarch64),
        "riscv64" => Some(TargetArch::riscv64),
        _ => None,
    }
}

pub(crate) fn prepare(policy: &SandboxPolicy, support: &Support) -> Result<Prepared, SandboxError> {
    if policy.mode == SandboxMode::Off {
        return Ok(Prepared {
            ruleset: None,
            filters: Vec::new(),
            limits: policy.limits,
        });
    }
    if let Err(why) = &support.landlock {
        return Err(SandboxError::Unavailable(why.clone()));
    }
    if let Err(why) = &support.seccomp {
        return Err(SandboxError::Unavailable(why.clone()));
    }
    Ok(Prepared {
        ruleset: Some(landlock_ruleset(policy)?),
        filters: seccomp_filters(policy)?,
        limits: policy.limits,
    })
}

fn landlock_ruleset(policy: &SandboxPolicy) -> Result<OwnedFd, SandboxError> {
    let err = |e: landlock::RulesetError| SandboxError::Landlock(e.to_string());
    let read = AccessFs::from_read(ABI_TARGET);
    let write = AccessFs::from_all(ABI_TARGET);
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(ABI_TARGET))
        .map_err(err)?
        .scope(Scope::AbstractUnixSocket | Scope::Signal)
        .map_err(err)?;
    if !policy.network {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(ABI_TARGET))
            .map_err(err)?;
    }
    let mut rules: Vec<PathBeneath<PathFd>> = Vec::new();
    let mut add = |path: &Path, access: BitFlags<AccessFs>, required: bool| match PathFd::new(path)
    {
        Ok(fd) => {
            rules.push(PathBeneath::new(fd, access));
            Ok(())
        }
        Err(_) if !required => Ok(()),
        Err(e) => Err(SandboxError::Path {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        }),
    };
    for root in crate::SYSTEM_READ_ROOTS {
        add(Path::new(root), read, false)?;
    }
    for root in &policy.extra_read {
        add(root, read, false)?;
    }
    for device in crate::WRITABLE_DEVICES {
        add(
            Path::new(device),
            AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate,
            false,
        )?;
    }
    let workspace_access = match policy.mode {
        SandboxMode::WorkspaceWrite => write,
        _ => read,
    };
    add(&policy.workspace, workspace_access, true)?;
    add(&policy.temp_dir, write, true)?;
    let created = ruleset
        .create()
        .map_err(err)?
        .add_rules(rules.into_iter().map(Ok::<_, landlock::RulesetError>))
        .map_err(err)?;
    let fd: Option<OwnedFd> = created.into();
    fd.ok_or_else(|| {
        SandboxError::Unavailable("the kernel did not create a Landlock ruleset".into())
    })
}

/// System calls a command never needs and that would cross the boundary: they answer
/// `EPERM`.
fn denied_syscalls() -> Vec<i64> {
    vec![
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_fsopen,
        libc::SYS_fsmount,
        libc::SYS_fsconfig,
        libc::SYS_move_mount,
        libc::SYS_open_tree,
        libc::SYS_mount_setattr,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_userfaultfd,
        libc::SYS_kexec_load,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_reboot,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_acct,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_fanotify_init,
        libc::SYS_quotactl,
        libc::SYS_settimeofday,
        libc::SYS_clock_settime,
        libc::SYS_clock_adjtime,
        libc::SYS_adjtimex,
        // Leaving the process group would let a descendant outlive a timeout's kill.
        libc::SYS_setsid,
        libc::SYS_setpgid,
    ]
}

fn seccomp_filters(policy: &SandboxPolicy) -> Result<Vec<BpfProgram>, SandboxError> {
    let cond_err = |e: seccompiler::BackendError| SandboxError::Seccomp(e.to_string());
    let arch = target_arch().ok_or_else(|| {
        SandboxError::Unavailable(format!("no seccomp for {}", std::env::consts::ARCH))
    })?;

    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = denied_syscalls()
        .into_iter()
        .map(|nr| (nr, Vec::new()))
        .collect();
    // New namespaces through clone(2): its first argument holds the flags.
    let namespace_flags = [
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNS,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWCGROUP,
    ];
    let mut clone_rules = Vec::new();
    for flag in namespace_flags {
        let flag = flag as u64;
        clone_rules.push(
            SeccompRule::new(vec![SeccompCondition::new(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(flag),
                flag,
            )
            .map_err(cond_err)?])
            .map_err(cond_err)?,
        );
    }
    rules.insert(libc::SYS_clone, clone_rules);
    if !policy.network {
        rules.insert(
            libc::SYS_socket,
            vec![SeccompRule::new(vec![SeccompCondition::new(
                0,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::Ne,
                libc::AF_UNIX as u64,
            )
            .map_err(cond_err)?])
            .map_err(cond_err)?],
        );
    }
    let main: BpfProgram = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(cond_err)?
    .try_into()
    .map_err(cond_err)?;
    // clone3 passes its flags in memory that a filter cannot read: answer "not implemented",
    // and the C library falls back to clone(2), which the filter above checks.
    let clone3: BpfProgram = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(cond_err)?
    .try_into()
    .map_err(cond_err)?;
    Ok(vec![main, clone3])
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

impl Prepared {
    /// Runs in the forked child: system calls only, no allocation.
    pub(crate) fn apply(&self) -> std::io::Result<()> {
        use std::io::Error;
        // SAFETY: plain system calls on stack data and on data built before fork.
        unsafe {
            // Its own session and process group: a timeout kills the group, and no terminal
            // is reachable.
            if libc::setsid() < 0 {
                return Err(Error::last_os_error());
            }
            // Killed with the agent.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            set_limit(libc::RLIMIT_CPU, self.limits.cpu_seconds);
            set_limit(libc::RLIMIT_AS, self.limits.address_space);
            set_limit(libc::RLIMIT_FSIZE, self.limits.file_size);
            set_limit(libc::RLIMIT_NPROC, self.limits.processes);
            set_limit(libc::RLIMIT_CORE, 0);
            // Every capability: bounding set first (needs CAP_SETPCAP, which goes last), then
            // ambient, then effective/permitted/inheritable. As root, an exec recomputes the
            // permitted set from the bounding set, which is now empty.
            for cap in 0..64 {
                libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
            }
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL,
                0,
                0,
                0,
            );
            let mut header = CapHeader {
                version: LINUX_CAPABILITY_VERSION_3,
                pid: 0,
            };
            let data = [CapData {
                effective: 0,
                permitted: 0,
                inheritable: 0,
            }; 2];
            if libc::syscall(
                libc::SYS_capset,
                &mut header as *mut CapHeader,
                data.as_ptr(),
            ) != 0
            {
                return Err(Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(Error::last_os_error());
            }
            if let Some(ruleset) = &self.ruleset {
                if libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), 0u32) != 0 {
                    return Err(Error::last_os_error());
                }
            }
            for filter in &self.filters {
                let prog = libc::sock_fprog {
                    len: filter.len() as u16,
                    filter: filter.as_ptr() as *mut libc::sock_filter,
                };
                if libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    0u32,
                    &prog as *const libc::sock_fprog,
                ) != 0
                {
                    return Err(Error::last_os_error());
                }
            }
        }
        Ok(())
    }
}

/// Lowers a limit to `value` (never above the current hard limit). Async-signal-safe.
unsafe fn set_limit(resource: libc::__rlimit_resource_t, value: u64) {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    if libc::getrlimit(resource, &mut current) != 0 {
        return;
    }
    let value = value.min(current.rlim_max);
    let new = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    libc::setrlimit(resource, &new);
}

pub(crate) fn harden_current_process() {
    // SAFETY: both calls only change flags of the calling process.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &none);
    }
}
