"""latchkeyd's command line, read by hand since issue 21 (docs/performance.md "Idle memory"):
the subcommands, options, help, version and usage errors argument-parser gave it, unchanged
(docs/man/latchkeyd.8)."""

import os
import re
import subprocess


def daemon(bin_dir, tmp_path, *args):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "SWIFT_BACKTRACE": "enable=no"}
    return subprocess.run([os.path.join(bin_dir, "latchkeyd"), *args], capture_output=True, text=True, timeout=60,
                          env=env)


def test_help_and_version(bin_dir, tmp_path):
    version = daemon(bin_dir, tmp_path, "--version")
    assert version.returncode == 0 and re.fullmatch(r"\d+\.\d+\.\d+\S*\n", version.stdout), version
    assert daemon(bin_dir, tmp_path, "setup", "--version").stdout == version.stdout
    top = daemon(bin_dir, tmp_path, "--help")
    assert top.returncode == 0 and "USAGE: latchkeyd <subcommand>" in top.stdout
    assert "serve (default)" in top.stdout and "See 'latchkeyd help <subcommand>'" in top.stdout
    assert daemon(bin_dir, tmp_path, "help").stdout == top.stdout == daemon(bin_dir, tmp_path, "-h").stdout
    setup = daemon(bin_dir, tmp_path, "setup", "--help")
    assert setup.returncode == 0 and "USAGE: latchkeyd setup [<options>] <email>" in setup.stdout
    assert "--connect-to <connect-to>" in setup.stdout and "--dry-run" in setup.stdout
    assert daemon(bin_dir, tmp_path, "help", "setup").stdout == setup.stdout
    diagnose = daemon(bin_dir, tmp_path, "diagnose", "-h")
    assert diagnose.returncode == 0 and "[--ca-file <ca-file>]" in diagnose.stdout
    serve = daemon(bin_dir, tmp_path, "serve", "--help")
    assert serve.returncode == 0 and "--log-level <log-level>" in serve.stdout


def test_usage_errors_exit_64_with_the_usage(bin_dir, tmp_path):
    cases = [
        (("bogus",), "Error: Unexpected argument 'bogus'", "Usage: latchkeyd serve "),
        (("serve", "--bogus"), "Error: Unknown option '--bogus'", "See 'latchkeyd serve --help'"),
        (("serve", "--config"), "Error: Missing value for '--config <config>'", "Usage: latchkeyd serve "),
        (("setup",), "Error: Missing expected argument '<email>'", "Usage: latchkeyd setup [<options>] <email>"),
        (("setup", "a@example.org", "b@example.org"), "Error: Unexpected argument 'b@example.org'", "latchkeyd setup"),
        (("diagnose",), "Error: Give an account name or e-mail address, or --all.", "Usage: latchkeyd diagnose "),
        (("diagnose", "work", "--all"), "Error: Give an account name or e-mail address, or --all.", "diagnose"),
        (("diagnose", "--json=1", "work"), "Error: The option '--json' does not take any value, but '1' was specified.",
         "See 'latchkeyd diagnose --help'"),
    ]
    for args, error, usage in cases:
        done = daemon(bin_dir, tmp_path, *args)
        assert done.returncode == 64 and done.stdout == "", (args, done)
        assert error in done.stderr and usage in done.stderr, (args, done.stderr)


def test_options_reach_the_command(bin_dir, tmp_path):
    """`--config=PATH` and `--config PATH`, with or without `serve`: a named file that is
    missing is a configuration error (78) that names it; the last of a repeated option wins."""
    for args in (("--config", str(tmp_path / "a.toml")), ("serve", f"--config={tmp_path / 'a.toml'}"),
                 ("serve", "--config", str(tmp_path / "b.toml"), "--config", str(tmp_path / "a.toml"))):
        done = daemon(bin_dir, tmp_path, *args)
        assert done.returncode == 78 and f"{tmp_path / 'a.toml'}" in done.stderr, (args, done)
        assert "b.toml" not in done.stderr
    dry = daemon(bin_dir, tmp_path, "setup", "--dry-run", "--url", "https://127.0.0.1:9/EWS/Exchange.asmx",
                 "--prefer", "basic", "--name", "x", "--", "alice@example.org")
    assert "--prefer" not in dry.stderr and "Unexpected argument" not in dry.stderr, dry.stderr
