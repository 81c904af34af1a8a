//! Running the real `tern` binary with an isolated home (no user config, no saved data) against
//! a fake server, with stdout a pipe or a pseudo-terminal.
//!
//! Include it with `#[path = "common/cli.rs"] mod cli;`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};

use tern::fake::{FakeConfig, FakeServer};
use tern::store::Store;

/// A fake server with the default behaviour, on a thread of its own (the binary reaches it).
pub fn server() -> FakeServer {
    FakeServer::start_background(FakeConfig::default()).expect("the fake server starts")
}

/// What one run of `tern` left behind.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    pub fn ok(&self) -> bool {
        self.status.success()
    }

    /// Exit 0 and no panic, or fail showing both streams.
    #[track_caller]
    pub fn success(&self) -> &Run {
        assert!(
            self.ok() && !self.stderr().contains("panicked"),
            "tern failed ({}):\nstdout: {}\nstderr: {}",
            self.status,
            self.stdout(),
            self.stderr()
        );
        self
    }

    /// stdout parsed as JSON, or fail showing it.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr: {}",
                self.stdout(),
                self.stderr()
            )
        })
    }

    /// A failure reported as exactly one `tern: error:` line (no panic, non-zero exit); that line.
    #[track_caller]
    pub fn one_error_line(&self) -> String {
        assert!(
            !self.ok(),
            "expected a failure, got stdout {}",
            self.stdout()
        );
        let stderr = self.stderr();
        assert!(!stderr.contains("panicked"), "{stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line on stderr, got: {stderr}");
        assert!(lines[0].starts_with("tern: error: "), "{stderr}");
        lines[0].to_owned()
    }
}

/// The JSON body of the last request `server` received.
pub fn last_body(server: &FakeServer) -> serde_json::Value {
    server
        .requests()
        .last()
        .and_then(|r| r.json())
        .expect("a JSON request was recorded")
}

/// A temporary `$HOME` with its own config and data directories.
pub struct Home {
    dir: tempfile::TempDir,
    base_url: String,
}

impl Home {
    /// A fresh home whose `tern` talks to `base_url` with the key `k`.
    pub fn new(base_url: &str) -> Home {
        Home {
            dir: tempfile::tempdir().expect("a temporary directory"),
            base_url: base_url.to_owned(),
        }
    }

    /// A fresh home for commands that never reach the network (its endpoint refuses).
    pub fn offline() -> Home {
        Home::new("http://127.0.0.1:9")
    }

    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Where `tern` keeps its database in this home (`$XDG_DATA_HOME/tern/tern.db`).
    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("data").join("tern").join("tern.db")
    }

    /// Open this home's store directly (creating it if needed).
    pub fn store(&self) -> Store {
        Store::open(self.store_path()).expect("the store opens")
    }

    /// `tern ARGS` with only this home's environment; stdin is empty unless set otherwise.
    pub fn command(&self, args: &[&str]) -> Command {
        let home = self.dir.path();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tern"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("APIFREE_BASE_URL", &self.base_url)
            .env("APIFREE_API_KEY", "k")
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Run `tern ARGS` to the end, stdout a pipe.
    pub fn run(&self, args: &[&str]) -> Run {
        run_command(self.command(args), None)
    }

    /// Run `tern ARGS` with `input` piped to its stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Run {
        run_command(self.command(args), Some(input))
    }

    /// Start `tern ARGS` without waiting for it.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn().expect("tern runs")
    }

    /// Run `tern ARGS` with stdout a pseudo-terminal (as when a person runs it); what it wrote
    /// there, byte for byte (the terminal turns `\n` into `\r\n`).
    pub fn run_on_tty(&self, args: &[&str]) -> Run {
        self.run_command_on_tty(self.command(args), Tty::default())
    }

    /// Run `cmd` (from [`Home::command`]) on a pseudo-terminal as `tty` says. With
    /// `tty.stderr`, stderr goes to the terminal too and `Run::stdout` holds both streams.
    pub fn run_command_on_tty(&self, mut cmd: Command, tty: Tty) -> Run {
        let (master, slave) = open_pty();
        if let Some((cols, rows)) = tty.size {
            set_pty_size(&master, cols, rows);
        }
        let child = {
            if tty.stderr {
                cmd.stderr(Stdio::from(slave.try_clone().expect("dup the pty")));
            }
            cmd.stdout(Stdio::from(slave));
            let child = cmd.spawn().expect("tern runs");
            // `cmd` holds our copies of the terminal's slave side: dropped here, so the master
            // reads end of file (EIO) once tern exits.
            drop(cmd);
            child
        };
        let reader = std::thread::spawn(move || {
            let mut master = master;
            let mut out = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                match master.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                    // Linux reports EIO once the last slave descriptor is closed.
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            out
        });
        let out = child.wait_with_output().expect("tern ends");
        let stdout = reader.join().expect("the pty reader");
        Run {
            status: out.status,
            stdout,
            stderr: out.stderr,
        }
    }
}

/// Run `cmd` (from [`Home::command`]) to the end, stdout a pipe, `input` (if any) piped to its
/// stdin.
pub fn run_command(mut cmd: Command, input: Option<&str>) -> Run {
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("tern runs");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin.write_all(input.as_bytes()).expect("stdin written");
    }
    let out = child.wait_with_output().expect("tern ends");
    Run {
        status: out.status,
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// How [`Home::run_command_on_tty`] sets up the terminal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tty {
    /// Columns and rows (unset: the pty's default, 0×0, which programs read as unknown).
    pub size: Option<(u16, u16)>,
    /// stderr is the terminal too.
    pub stderr: bool,
}

fn set_pty_size(master: &std::fs::File, cols: u16, rows: u16) {
    use std::os::fd::AsRawFd;
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one `winsize` from the pointer, which outlives the call.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    assert_eq!(rc, 0, "TIOCSWINSZ: {}", std::io::Error::last_os_error());
}

/// A new pseudo-terminal: (master, slave), both as files.
pub fn open_pty() -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain libc calls on descriptors this function owns; each result is checked, and
    // every descriptor ends up owned by exactly one `File`.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(
            master >= 0,
            "posix_openpt: {}",
            std::io::Error::last_os_error()
        );
        let master_file = std::fs::File::from_raw_fd(master);
        assert_eq!(libc::grantpt(master), 0, "grantpt");
        assert_eq!(libc::unlockpt(master), 0, "unlockpt");
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(
            libc::ptsname_r(master, name.as_mut_ptr(), name.len()),
            0,
            "ptsname_r"
        );
        let slave = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
        assert!(
            slave >= 0,
            "open pty slave: {}",
            std::io::Error::last_os_error()
        );
        (master_file, std::fs::File::from_raw_fd(slave))
    }
}
