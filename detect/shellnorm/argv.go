package shellnorm

import (
	"strings"
)

// invocation is a shell started with a script: from -c, from standard input
// or from a file operand.
type invocation struct {
	name string // base name of the shell, e.g. "bash"; "sh" for su -c and friends

	script    string // the -c script
	hasScript bool
	stdin     bool   // the script is read from standard input
	file      string // the script file operand

	arg0    string
	params  []string // positional parameters
	assigns []string // NAME=value from wrappers such as env and sudo
}

// maxWrappers bounds the wrapper layers unwrapped in front of a command.
const maxWrappers = 16

// baseName returns the last element of a slash-separated path.
func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// isShell reports whether name is a shell that takes -c scripts.
func isShell(name string) bool {
	name = strings.TrimPrefix(name, "-") // login shells
	switch name {
	case "sh", "bash", "dash", "ash", "zsh", "ksh", "ksh93", "mksh", "lksh",
		"pdksh", "oksh", "loksh", "rbash", "hush", "yash", "posh":
		return true
	}
	return false
}

// isWrapper reports whether name runs its operands as a command.
func isWrapper(name string) bool {
	switch name {
	case "env", "nohup", "timeout", "nice", "ionice", "setsid", "stdbuf",
		"time", "sudo", "doas", "chroot", "nsenter", "unshare", "busybox",
		"exec", "command", "builtin", "su", "runuser", "watch", "script",
		"flock", "gosu", "su-exec", "tini", "dumb-init", "chrt", "taskset",
		"cgexec", "firejail", "proot":
		return true
	}
	return false
}

// findShell looks for a shell payload in argv, behind any wrappers. It does
// not allocate for an argv without one.
func findShell(argv []string) (invocation, bool) {
	if len(argv) == 0 {
		return invocation{}, false
	}
	name := baseName(argv[0])
	if !isShell(name) && !isWrapper(name) {
		return invocation{}, false
	}
	c := unwrap(argv)
	if c.hasScript {
		return invocation{
			name: "sh", script: c.script, hasScript: true,
			arg0: "sh", assigns: c.assigns,
		}, true
	}
	if len(c.argv) == 0 || !isShell(baseName(c.argv[0])) {
		return invocation{}, false
	}
	inv, ok := shellArgs(c.argv)
	inv.assigns = c.assigns
	return inv, ok
}

// shellArgs parses the options of a shell's argv, with argv[0] a shell.
func shellArgs(argv []string) (invocation, bool) {
	inv := invocation{name: strings.TrimPrefix(baseName(argv[0]), "-")}
	cflag, sflag := false, false
	i := 1
options:
	for ; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "--" || a == "-":
			i++
			break options
		case strings.HasPrefix(a, "--"):
			switch a {
			case "--rcfile", "--init-file":
				i++
			}
		case len(a) > 1 && (a[0] == '-' || a[0] == '+'):
			for j := 1; j < len(a); j++ {
				switch a[j] {
				case 'c':
					cflag = true
				case 's':
					sflag = true
				case 'o', 'O':
					i++ // -o pipefail
				}
			}
		default:
			break options
		}
	}
	rest := argv[min(i, len(argv)):]
	switch {
	case cflag:
		if len(rest) == 0 {
			return inv, false // bash: -c: option requires an argument
		}
		inv.script, inv.hasScript = rest[0], true
		inv.arg0 = inv.name
		if len(rest) > 1 {
			inv.arg0 = rest[1]
			inv.params = rest[2:]
		}
	case sflag || len(rest) == 0:
		inv.stdin = true
		inv.arg0 = inv.name
		inv.params = rest
	default:
		inv.file = rest[0]
		inv.arg0 = rest[0]
		inv.params = rest[1:]
	}
	return inv, true
}

// cmdline is a command line with its wrappers removed.
type cmdline struct {
	argv    []string // the wrapped command
	assigns []string // NAME=value given to env, sudo and the like

	// script is set for wrappers that hand a script to a shell, such as
	// su -c, runuser -c, script -c, flock -c and watch.
	script    string
	hasScript bool
}

// unwrap removes wrapper commands such as env, nohup, timeout, sudo,
// chroot and nsenter from the front of argv.
func unwrap(argv []string) cmdline {
	var c cmdline
	for range maxWrappers {
		if len(argv) == 0 {
			break
		}
		var next []string
		switch name := baseName(argv[0]); name {
		case "env":
			i := 1
			for ; i < len(argv); i++ {
				a := argv[i]
				if a == "--" {
					i++
					break
				}
				if a == "-" || a == "-i" || a == "-0" || a == "-v" || a == "--ignore-environment" ||
					a == "--null" || a == "--debug" {
					continue
				}
				if s, ok := strings.CutPrefix(a, "--split-string="); ok {
					return splitString(c, s, argv[i+1:])
				}
				if a == "-S" || a == "--split-string" {
					if i+1 < len(argv) {
						return splitString(c, argv[i+1], argv[i+2:])
					}
					return c
				}
				if s, ok := strings.CutPrefix(a, "-S"); ok && s != "" {
					return splitString(c, s, argv[i+1:])
				}
				if a == "-u" || a == "-C" || a == "--unset" || a == "--chdir" {
					i++
					continue
				}
				if strings.HasPrefix(a, "-") {
					continue
				}
				break
			}
			for ; i < len(argv) && isAssign(argv[i]); i++ {
				c.assigns = append(c.assigns, argv[i])
			}
			next = tail(argv, i)
		case "nohup", "builtin", "busybox", "tini", "dumb-init", "setsid", "firejail", "proot":
			next = skipOpts(argv, "", nil)
		case "timeout":
			i := optEnd(argv, "sk", []string{"--signal", "--kill-after"})
			next = tail(argv, i+1) // the duration
		case "nice":
			next = skipOpts(argv, "n", []string{"--adjustment"})
		case "ionice":
			next = skipOpts(argv, "cnpPu", []string{"--class", "--classdata", "--pid", "--pgid", "--uid"})
		case "stdbuf":
			next = skipOpts(argv, "ioe", []string{"--input", "--output", "--error"})
		case "time":
			next = skipOpts(argv, "fo", []string{"--format", "--output"})
		case "chrt":
			i := optEnd(argv, "T", nil)
			next = tail(argv, i+1) // the priority
		case "taskset":
			i := optEnd(argv, "", nil)
			next = tail(argv, i+1) // the mask
		case "cgexec":
			next = skipOpts(argv, "g", nil)
		case "sudo", "doas":
			i := optEnd(argv, "CDghpRrTtUu", []string{"--user", "--group", "--chdir", "--host",
				"--prompt", "--role", "--type", "--other-user", "--close-from", "--command-timeout", "--chroot"})
			for ; i < len(argv) && isAssign(argv[i]); i++ {
				c.assigns = append(c.assigns, argv[i])
			}
			next = tail(argv, i)
		case "chroot":
			i := optEnd(argv, "", []string{"--userspec", "--groups"})
			next = tail(argv, i+1) // the new root
		case "nsenter":
			next = skipOpts(argv, "tSG", []string{"--target", "--setuid", "--setgid"})
		case "unshare":
			next = skipOpts(argv, "SGRw", []string{"--setuid", "--setgid", "--root", "--wd"})
		case "exec":
			next = skipOpts(argv, "a", nil)
		case "command":
			for _, a := range argv[1:] {
				if a == "-v" || a == "-V" {
					return c // a lookup, not a run
				}
			}
			next = skipOpts(argv, "", nil)
		case "gosu", "su-exec":
			next = tail(argv, 2)
		case "su", "runuser":
			if name == "runuser" {
				for i, a := range argv {
					if a == "-u" || a == "--user" {
						// runuser -u USER [--] COMMAND [ARG]...
						next = tail(argv, i+2)
						if len(next) > 0 && next[0] == "--" {
							next = next[1:]
						}
						break
					}
				}
				if next != nil {
					break
				}
			}
			// getopt permutes: -c may come before or after the user name.
			for i := 1; i < len(argv); i++ {
				a := argv[i]
				switch {
				case a == "-c" || a == "--command" || a == "--session-command":
					if i+1 < len(argv) {
						c.script, c.hasScript = argv[i+1], true
						return c
					}
				case strings.HasPrefix(a, "--command="):
					c.script, c.hasScript = strings.TrimPrefix(a, "--command="), true
					return c
				case strings.HasPrefix(a, "--session-command="):
					c.script, c.hasScript = strings.TrimPrefix(a, "--session-command="), true
					return c
				case len(a) > 2 && a[0] == '-' && a[1] != '-':
					// a cluster such as -lc SCRIPT or -cSCRIPT
					if j := strings.IndexAny(a, "cgGsw"); j > 0 {
						arg := a[j+1:]
						if arg == "" && i+1 < len(argv) {
							arg = argv[i+1]
							i++
						}
						if a[j] == 'c' {
							c.script, c.hasScript = arg, true
							return c
						}
					}
				case a == "-g" || a == "-G" || a == "-s" || a == "-w" || a == "--shell" ||
					a == "--group" || a == "--supp-group" || a == "--whitelist-environment":
					i++
				}
			}
			return c // an interactive shell
		case "watch":
			i := optEnd(argv, "nq", []string{"--interval", "--equexit"})
			exec := false
			for _, a := range argv[1:min(i, len(argv))] {
				if a == "-x" || a == "--exec" {
					exec = true
				}
			}
			if exec {
				next = tail(argv, i)
				break
			}
			if i < len(argv) {
				c.script, c.hasScript = strings.Join(argv[i:], " "), true
			}
			return c
		case "script":
			for i := 1; i < len(argv); i++ {
				a := argv[i]
				if (a == "-c" || a == "--command") && i+1 < len(argv) {
					c.script, c.hasScript = argv[i+1], true
					return c
				}
				if s, ok := strings.CutPrefix(a, "--command="); ok {
					c.script, c.hasScript = s, true
					return c
				}
			}
			return c
		case "flock":
			i := optEnd(argv, "wEn", []string{"--timeout", "--conflict-exit-code"})
			i++ // the lock file
			if i < len(argv) && (argv[i] == "-c" || argv[i] == "--command") {
				if i+1 < len(argv) {
					c.script, c.hasScript = argv[i+1], true
				}
				return c
			}
			next = tail(argv, i)
		default:
			c.argv = argv
			return c
		}
		argv = next
	}
	c.argv = argv
	return c
}

// splitString handles env -S STRING: the string is split into words much like
// a shell would, so it is evaluated as a script.
func splitString(c cmdline, s string, rest []string) cmdline {
	c.script, c.hasScript = s, true
	if len(rest) > 0 {
		c.script += " " + strings.Join(rest, " ")
	}
	return c
}

func tail(argv []string, i int) []string {
	if i >= len(argv) {
		return nil
	}
	return argv[i:]
}

// skipOpts returns the operands of argv after its options; see optEnd.
func skipOpts(argv []string, withArg string, longWithArg []string) []string {
	return tail(argv, optEnd(argv, withArg, longWithArg))
}

// optEnd returns the index of the first operand of argv, after the options
// of argv[0] and a "--". Short options listed in withArg and long options in
// longWithArg take an argument, attached or as the next element.
func optEnd(argv []string, withArg string, longWithArg []string) int {
	i := 1
	for ; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			return i + 1
		}
		if len(a) < 2 || a[0] != '-' {
			return i
		}
		if a[1] == '-' {
			if !strings.Contains(a, "=") {
				for _, l := range longWithArg {
					if a == l {
						i++
						break
					}
				}
			}
			continue
		}
		for j := 1; j < len(a); j++ {
			if strings.IndexByte(withArg, a[j]) >= 0 {
				if j == len(a)-1 {
					i++ // the argument is the next element
				}
				break
			}
		}
	}
	return i
}

// isAssign reports whether s has the form NAME=value.
func isAssign(s string) bool {
	i := strings.IndexByte(s, '=')
	return i > 0 && validName(s[:i])
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
