package shellnorm

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"strings"
)

// normCase is one argv with what its texts must and must not contain.
type normCase struct {
	name string
	argv []string
	env  map[string]string
	want []string // each must be a substring of some text
	not  []string // none may be a substring of any text
}

// sh wraps a script as sh -c SCRIPT.
func sh(script string) []string { return []string{"sh", "-c", script} }

// bash wraps a script as bash -c SCRIPT.
func bash(script string) []string { return []string{"bash", "-c", script} }

const (
	imds    = "169.254.169.254"
	imdsURL = "http://169.254.169.254/latest/meta-data/"
	curl    = "curl 169.254.169.254"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func gzipB64(s string) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	zw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// cases covers the tricks used to hide a metadata request, with the
// metadata address as the payload, and benign commands.
var cases = []normCase{
	// Variables.
	{name: "var concat", argv: sh("H=169.254; curl $H.169.254/latest/meta-data/"),
		want: []string{"curl 169.254.169.254/latest/meta-data/"}},
	{name: "var numbers concat", argv: sh("a=1;b=69;c=$a$b; curl $c.254.$c.254"), want: []string{curl}},
	{name: "kinsing LDR", argv: sh(`LDR="wget -q -O -"; if [ -x "$(command -v curl)" ]; then LDR="curl"; fi; $LDR http://169.254.169.254/latest/meta-data/iam/security-credentials/`),
		want: []string{"curl http://169.254.169.254/latest/meta-data/iam/security-credentials/",
			"wget -q -O - http://169.254.169.254/latest/meta-data/iam/security-credentials/"}},
	{name: "kinsing simple", argv: bash(`LDR="curl"; $LDR http://169.254.169.254/latest/meta-data/iam/security-credentials/`),
		want: []string{"curl http://169.254.169.254/latest/meta-data/iam/security-credentials/"}},
	{name: "substring offsets", argv: bash(`a=1x6y9z2q5r4; h=${a:0:1}${a:2:1}${a:4:1}; curl http://$h.254.$h.254/latest/`),
		want: []string{"curl http://169.254.169.254/latest/"}},
	{name: "substring of url", argv: bash(`s=xxhttp://169.254.169.254/yy; curl ${s:2:23}`),
		want: []string{"curl http://169.254.169.254/"}},
	{name: "replace all", argv: bash(`u=http://169_254_169_254/latest/; curl ${u//_/.}`),
		want: []string{"curl http://169.254.169.254/latest/"}},
	{name: "replace first and trim", argv: bash(`u=XX169.254.169.254YY; u=${u/XX/}; curl ${u%YY}`), want: []string{curl}},
	{name: "length and arithmetic", argv: bash(`x=aaaaaaaaaaaaa; curl http://$((0xa9)).$((254)).$((${#x}*13)).$((2**8-2))/`),
		want: []string{"curl http://169.254.169.254/"}},
	{name: "default value", argv: sh(`curl ${U:-http://169.254.169.254/latest/}`), want: []string{"curl http://169.254.169.254/latest/"}},
	{name: "indirect", argv: bash(`x=H; H=169.254.169.254; curl ${!x}`), want: []string{curl}},
	{name: "case conversion", argv: bash(`c=CURL; ${c,,} 169.254.169.254`), want: []string{curl}},
	{name: "export then nested", argv: sh(`export H=169.254.169.254; sh -c 'curl $H'`), want: []string{curl}},
	{name: "read here-string", argv: bash(`read -r h <<< 169.254.169.254; curl $h`), want: []string{curl}},
	{name: "read two fields", argv: bash(`read -r c h <<< "curl 169.254.169.254"; $c $h`), want: []string{curl}},
	{name: "IFS comma read", argv: bash(`IFS=, read -r c h <<< "curl,169.254.169.254"; $c $h`), want: []string{curl}},
	{name: "declare", argv: bash(`declare -r H=169.254.169.254; wget -qO- $H`), want: []string{"wget -qO- 169.254.169.254"}},
	{name: "local in function", argv: bash(`f(){ local u=http://169.254.169.254; curl $u/latest/meta-data/; }; f`),
		want: []string{"curl " + imdsURL}},
	{name: "function args", argv: sh(`fetch(){ curl "http://$1/latest/meta-data/"; }; fetch 169.254.169.254`),
		want: []string{"curl " + imdsURL}},
	{name: "positional args", argv: []string{"sh", "-c", "curl http://$1/", "x", imds}, want: []string{"curl http://169.254.169.254/"}},
	{name: "set positional", argv: bash(`set -- curl 169.254.169.254; "$@"`), want: []string{curl}},
	{name: "array", argv: bash(`a=(curl 169.254.169.254); "${a[@]}"`), want: []string{curl}},
	{name: "array elements", argv: bash(`a[0]=curl; a[1]=169.254.169.254; ${a[0]} ${a[1]}`), want: []string{curl}},
	{name: "IFS changed", argv: bash(`IFS=,; c=curl,169.254.169.254; $c`), want: []string{curl}},
	{name: "printf -v", argv: bash(`printf -v u 'http://%s.%s.%s.%s/' 169 254 169 254; curl $u`), want: []string{"curl http://169.254.169.254/"}},
	{name: "assoc array", argv: bash(`declare -A m; m[h]=169.254.169.254; curl ${m[h]}`), want: []string{curl}},
	{name: "env option", argv: sh(`curl http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`),
		env:  map[string]string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/SENTINEL-URI"},
		want: []string{"curl http://169.254.170.2/SENTINEL-URI"}},

	// Quoting and escapes.
	{name: "quote removal", argv: sh(`c''u""r\l 1"69".2'54'.169.254`), want: []string{curl}},
	{name: "ansi-c hex", argv: bash(`curl $'\x31\x36\x39\x2e\x32\x35\x34\x2e\x31\x36\x39\x2e\x32\x35\x34'/latest/meta-data/`),
		want: []string{"curl 169.254.169.254/latest/meta-data/"}},
	{name: "ansi-c octal and unicode", argv: bash(`$'\143\165\162\154' $'\u0031\U00000036\x39'.254.169.254`), want: []string{curl}},
	{name: "brace expansion", argv: bash(`{curl,http://169.254.169.254/}`), want: []string{"curl http://169.254.169.254/"}},
	{name: "brace in word", argv: bash(`curl http://169.254.{169,170}.254/`), want: []string{"curl http://169.254.169.254/ http://169.254.170.254/"}},
	{name: "IFS braces", argv: sh(`curl${IFS}169.254.169.254`), want: []string{curl}},
	{name: "IFS plain", argv: sh(`curl$IFS$9http://169.254.169.254/`), want: []string{"curl http://169.254.169.254/"}},
	{name: "backticks", argv: sh("`echo curl` 169.254.169.254"), want: []string{curl}},
	{name: "cmdsubst name", argv: bash(`$(echo -e "\x63url") 169.254.169.254`), want: []string{curl}},

	// Builtins and decoders.
	{name: "base64 pipe sh", argv: bash("echo Y3VybCAxNjkuMjU0LjE2OS4yNTQ= | base64 -d | sh"), want: []string{curl}},
	{name: "base64 --decode", argv: bash("echo " + b64(curl) + " | base64 --decode | bash"), want: []string{curl}},
	{name: "base64 -D", argv: bash("echo " + b64(curl) + " | base64 -D | bash"), want: []string{curl}},
	{name: "base64 -di", argv: bash("echo " + b64(curl) + " | base64 -di | bash"), want: []string{curl}},
	{name: "base64 here-string", argv: bash(`bash <<< "$(echo ` + b64(curl) + ` | base64 --decode)"`), want: []string{curl}},
	{name: "base64 no padding", argv: bash("echo " + strings.TrimRight(b64("curl 169.254.169.254/"), "=") + " | base64 -d | sh"),
		want: []string{"curl 169.254.169.254/"}},
	{name: "openssl base64", argv: sh("echo " + b64(curl) + " | openssl base64 -d | sh"), want: []string{curl}},
	{name: "openssl enc -base64 -d", argv: sh("echo " + b64(curl) + " | openssl enc -base64 -d | sh"), want: []string{curl}},
	{name: "openssl enc -d -base64", argv: sh("echo " + b64(curl) + " | openssl enc -d -base64 | sh"), want: []string{curl}},
	{name: "xxd", argv: sh("echo 6375726c203136392e3235342e3136392e323534 | xxd -r -p | sh"), want: []string{curl}},
	{name: "rev", argv: sh("echo 452.961.452.961 lruc | rev | sh"), want: []string{curl}},
	{name: "tr rot13", argv: sh("echo 'phey 169.254.169.254' | tr 'a-z' 'n-za-m' | sh"), want: []string{curl}},
	{name: "tr delete", argv: sh("echo 'c#u#r#l 1#6#9.254.169.254' | tr -d '#' | sh"), want: []string{curl}},
	{name: "tr classes", argv: sh("echo 'CURL 169.254.169.254' | tr '[:upper:]' '[:lower:]' | sh"), want: []string{curl}},
	{name: "sed", argv: sh("echo 'curl 169_254_169_254' | sed 's/_/./g' | sh"), want: []string{curl}},
	{name: "sed groups", argv: sh(`echo 'X 169.254.169.254' | sed -E 's/^X (.*)$/curl \1/' | sh`), want: []string{curl}},
	{name: "gzip", argv: sh("echo " + gzipB64(curl) + " | base64 -d | gunzip | sh"), want: []string{curl}},
	{name: "gzip -dc", argv: sh("echo " + gzipB64(curl) + " | base64 -d | gzip -dc | sh"), want: []string{curl}},
	{name: "printf octal", argv: sh(`printf '\143\165\162\154\040\061\066\071\056\062\065\064\056\061\066\071\056\062\065\064' | sh`), want: []string{curl}},
	{name: "printf hex into sh -c", argv: sh(`sh -c "$(printf '\x63\x75\x72\x6c\x20\x31\x36\x39.254.169.254')"`), want: []string{curl}},
	{name: "printf %b", argv: sh(`printf '%b' 'curl\x20169.254.169.254' | bash`), want: []string{curl}},
	{name: "printf %d reuse", argv: bash(`h=$(printf '%d.' 169 254 169 254); curl ${h%.}`), want: []string{curl}},
	{name: "printf %c", argv: bash(`$(printf '%c%c%c%c' c u r l) 169.254.169.254`), want: []string{curl}},
	{name: "printf %s padding", argv: bash(`curl "$(printf '%s%s' 169.254. 169.254)"`), want: []string{curl}},
	{name: "echo -e octal", argv: bash(`echo -e '\0143url 169.254.169.254' | sh`), want: []string{curl}},
	{name: "echo -e hex", argv: bash(`echo -e '\x63\x75\x72\x6c 169.254.169.254' | sh`), want: []string{curl}},
	{name: "dash echo escapes", argv: []string{"dash", "-c", `echo '\0143url 169.254.169.254' | sh`}, want: []string{curl}},
	{name: "cat heredoc", argv: sh("cat <<EOF | sh\ncurl 169.254.169.254\nEOF"), want: []string{curl}},
	{name: "sh heredoc quoted", argv: sh("sh <<'EOF'\ncurl http://169.254.169.254/\nEOF"), want: []string{"curl http://169.254.169.254/"}},
	{name: "heredoc expands", argv: bash("H=169.254.169.254\nbash <<EOF\ncurl $H\nEOF"), want: []string{curl}},
	{name: "bash -s", argv: sh("echo 'curl 169.254.169.254' | bash -s"), want: []string{curl}},
	{name: "bash -", argv: sh("echo 'curl 169.254.169.254' | bash -"), want: []string{curl}},
	{name: "xargs", argv: sh("echo 169.254.169.254 | xargs curl"), want: []string{curl}},
	{name: "xargs -I", argv: sh("echo 169.254.169.254 | xargs -I{} curl http://{}/"), want: []string{"curl http://169.254.169.254/"}},
	{name: "file written then run", argv: sh("echo 'curl 169.254.169.254' > /tmp/x.sh; sh /tmp/x.sh"), want: []string{curl}},
	{name: "file written then executed", argv: sh("echo " + b64(curl) + " | base64 -d > /tmp/x; chmod +x /tmp/x; /tmp/x"), want: []string{curl}},

	// Nested shells and eval.
	{name: "nested quoting", argv: sh(`sh -c "bash -c 'eval \"curl 169.254.169.254\"'"`), want: []string{curl}},
	{name: "eval var", argv: bash(`x='curl 169.254.169.254'; eval "$x"`), want: []string{curl}},
	{name: "eval cmdsubst", argv: bash(`eval $(echo ` + b64(curl) + ` | base64 -d)`), want: []string{curl}},
	{name: "source stdin", argv: bash(`. /dev/stdin <<< "curl 169.254.169.254"`), want: []string{curl}},
	{name: "source procsubst", argv: bash(`source <(echo curl 169.254.169.254)`), want: []string{curl}},
	{name: "bash procsubst", argv: bash(`bash <(echo ` + b64(curl) + ` | base64 -d)`), want: []string{curl}},
	{name: "trap", argv: bash(`trap 'curl 169.254.169.254' EXIT`), want: []string{curl}},
	{name: "zsh", argv: []string{"zsh", "-c", "H=169.254.169.254; curl $H"}, want: []string{curl}},

	// Control flow.
	{name: "if else alternatives", argv: bash(`if true; then H=169.254.169.254; else H=example.com; fi; curl http://$H/`),
		want: []string{"curl http://169.254.169.254/"}},
	{name: "eval alternative", argv: bash(`if true; then P='curl 169.254.169.254'; else P=:; fi; eval "$P"`), want: []string{curl}},
	{name: "case", argv: sh(`case x in y) curl 169.254.169.254;; esac`), want: []string{curl}},
	{name: "and or", argv: sh(`false && curl 169.254.169.254 || true`), want: []string{curl}},
	{name: "for accumulate", argv: sh(`for p in 169 254 169 254; do ip=$ip$p.; done; curl ${ip%.}`), want: []string{curl}},
	{name: "for body", argv: sh(`for h in 10.0.0.1 169.254.169.254; do curl http://$h/; done`), want: []string{"curl http://169.254.169.254/"}},
	{name: "c-style for", argv: bash(`s=lruc; r=; for ((i=${#s}-1; i>=0; i--)); do r=$r${s:i:1}; done; $r 169.254.169.254`), want: []string{curl}},
	{name: "while read", argv: bash(`while read -r l; do $l; done <<< 'curl 169.254.169.254'`), want: []string{curl}},
	{name: "while body", argv: sh(`while true; do curl 169.254.169.254; sleep 1; done`), want: []string{curl}},
	{name: "subshell block background", argv: sh(`(curl 169.254.169.254 &); { wget -qO- http://169.254.169.254/; }`),
		want: []string{curl, "wget -qO- http://169.254.169.254/"}},
	{name: "pipeline", argv: sh(`curl -s http://169.254.169.254/latest/meta-data/ | grep iam`), want: []string{"curl -s " + imdsURL}},

	// Redirections.
	{name: "dev tcp", argv: bash(`exec 3<>/dev/tcp/169.254.169.254/80; echo -e "GET /latest/meta-data/ HTTP/1.0\r\n\r\n" >&3; cat <&3`),
		want: []string{"/dev/tcp/169.254.169.254/80", "GET /latest/meta-data/ HTTP/1.0"}},
	{name: "dev tcp variable", argv: bash(`H=169.254.169.254; printf 'GET /latest/meta-data/iam/ HTTP/1.1\r\nHost: x\r\n\r\n' > /dev/tcp/$H/80`),
		want: []string{"/dev/tcp/169.254.169.254/80", "GET /latest/meta-data/iam/ HTTP/1.1"}},

	// Wrappers around the shell in the argv itself.
	{name: "env wrapper", argv: []string{"env", "X=1", "sh", "-c", curl}, want: []string{curl}},
	{name: "env assignment", argv: []string{"/usr/bin/env", "H=169.254.169.254", "bash", "-c", "curl $H"}, want: []string{curl}},
	{name: "nohup", argv: []string{"nohup", "bash", "-c", curl}, want: []string{curl}},
	{name: "timeout", argv: []string{"timeout", "-s", "KILL", "5", "sh", "-c", curl}, want: []string{curl}},
	{name: "nice", argv: []string{"nice", "-n", "10", "sh", "-c", curl}, want: []string{curl}},
	{name: "sudo", argv: []string{"sudo", "-u", "root", "-E", "sh", "-c", curl}, want: []string{curl}},
	{name: "su -c", argv: []string{"su", "-c", curl}, want: []string{curl}},
	{name: "su user -c", argv: []string{"su", "-", "root", "-c", curl}, want: []string{curl}},
	{name: "su --command=", argv: []string{"su", "--command=" + curl, "root"}, want: []string{curl}},
	{name: "chroot", argv: []string{"chroot", "/host", "sh", "-c", curl}, want: []string{curl}},
	{name: "nsenter", argv: []string{"nsenter", "-t", "1", "-m", "-u", "-i", "-n", "--", "sh", "-c", curl}, want: []string{curl}},
	{name: "busybox sh", argv: []string{"busybox", "sh", "-c", curl}, want: []string{curl}},
	{name: "exec", argv: []string{"exec", "/bin/bash", "-c", curl}, want: []string{curl}},
	{name: "clustered -lc", argv: []string{"/bin/bash", "-lc", curl}, want: []string{curl}},
	{name: "clustered -xc", argv: []string{"sh", "-xc", curl}, want: []string{curl}},
	{name: "clustered -ec", argv: []string{"ash", "-ec", curl}, want: []string{curl}},
	{name: "options after -c", argv: []string{"bash", "-c", "-e", curl}, want: []string{curl}},
	{name: "-o option", argv: []string{"bash", "-o", "pipefail", "-c", curl}, want: []string{curl}},
	{name: "wrapper chain", argv: []string{"timeout", "5", "nice", "env", "sh", "-c", curl}, want: []string{curl}},
	{name: "watch", argv: []string{"watch", "-n", "1", "curl http://169.254.169.254/"}, want: []string{"curl http://169.254.169.254/"}},
	{name: "wrappers inside script", argv: sh(`nohup timeout 5 busybox sh -c 'curl 169.254.169.254' &`), want: []string{curl}},
	{name: "busybox base64 inside", argv: sh("echo " + b64(curl) + " | busybox base64 -d | busybox sh"), want: []string{curl}},
	{name: "sh stdin without payload", argv: []string{"sh"}, not: []string{imds}},

	// Bad syntax still yields what parsed.
	{name: "parse error keeps earlier", argv: sh(`curl 169.254.169.254; echo 'unterminated`), want: []string{curl}},

	// Benign commands: nothing hidden, nothing invented, nothing read.
	{name: "ls", argv: []string{"ls", "-la", "/app"}, want: []string{"ls -la /app"}, not: []string{"169.254"}},
	{name: "tar", argv: []string{"tar", "cf", "-", "/var/log"}, want: []string{"tar cf - /var/log"}, not: []string{"169.254"}},
	{name: "cat namespace", argv: sh("cat /var/run/secrets/kubernetes.io/serviceaccount/namespace"),
		want: []string{"cat /var/run/secrets/kubernetes.io/serviceaccount/namespace"}, not: []string{"169.254"}},
	{name: "python no shell", argv: []string{"python3", "-c", "print(1)"}, want: []string{"python3 -c print(1)"}},
	{name: "junk base64", argv: sh("echo hello | base64 -d | sh"), not: []string{"169.254"}},
	{name: "loop", argv: bash(`for i in 1 2 3; do echo $i; done`), want: []string{"echo 3"}, not: []string{"169.254"}},
	{name: "no globbing", argv: sh("ls /etc/*.conf"), want: []string{"ls /etc/*.conf"}},
	{name: "no home lookup", argv: sh("cat ~/.aws/credentials ~root/.bashrc"), want: []string{"cat ~/.aws/credentials ~root/.bashrc"}},
	{name: "no process env", argv: sh("echo $HOME $PATH"), want: []string{"echo"}, not: []string{"/root", "/usr/bin"}},
}
