//go:build ignore

// gen_inputs writes the requestURIs that EsqlRef.java turns into reference
// vectors: hand-picked blind spots and quirks, then seeded random ones built
// from the pieces that matter to the rule.
//
//	go run gen_inputs.go > inputs.jsonl
package main

import (
	"fmt"
	"math/rand"
	"strings"
)

const p = "/api/v1/namespaces/default/pods/web-0/exec?"

var hand = []string{
	p + "command=curl&command=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2Fiam%2Fsecurity-credentials%2F&container=web&stderr=true&stdout=true",
	p + "command=sh&command=-c&command=curl+-s+-H+%22Metadata-Flavor%3A+Google%22+http%3A%2F%2Fmetadata.google.internal%2FcomputeMetadata%2Fv1%2Finstance%2Fservice-accounts%2Fdefault%2Ftoken&container=app&stdin=true&stdout=true&tty=true",
	p + "command=curl&command=-H&command=Metadata%3Atrue&command=http%3A%2F%2F169.254.169.254%2Fmetadata%2Fidentity%2Foauth2%2Ftoken%3Fapi-version%3D2018-02-01&container=c&stderr=true&stdout=true",
	p + "command=curl&command=-H&command=Metadata%3Atrue&command=http%3A%2F%2Flocalhost%2Fmetadata%2Fidentity%2Foauth2%2Ftoken&container=c&stderr=true&stdout=true",
	p + "command=curl&command=http%3A%2F%2F169.254.169.254%2Fmetadata%2Finstance&container=c&stdout=true",
	p + "command=curl&command=http%3A%2F%2Fx%2Fmetadata%2Finstance&container=c&stdout=true",
	p + "command=sh&command=-c&command=curl+169.254.169.254%0Aecho&container=c&stdout=true",
	p + "stdout=true&command=curl&command=169.254.169.254",
	p + "command=curl&command=169.254.169.254&tty=true",
	p + "command=curl&command=169.254.169.254%&container=c&stdout=true",
	p + "command=curl&command=169.254.169.254%zz&container=c&stdout=true",
	p + "command=curl&command=169.254.169.254%+1&container=c&stdout=true",
	p + "command=curl&command=169.254.169.254%-0&container=c&stdout=true",
	p + "command=curl&command=169.254.169.254%-1&container=c&stdout=true",
	p + "command=curl&command=169.254.169.254%4&container=c&stdout=true",
	p + "command=curl&command=169.254.169.254&container=c&stdout=true%",
	p + "command=curl&command=169.254.169.254&container=c&stdout=true%4",
	p + "command=curl&command=169.254.169.254%E2%82&container=c&stdout=true",
	p + "command=curl&command=169.254.169.254%ED%A0%80&container=c&stdout=true",
	p + "command=curl&command=169.254.169.254%F0%9F%98&container=c&stdout=true",
	p + "command=curl&command=169.254.169.254%F0%9F%98%80%C0%AF%FF&container=c&stdout=true",
	p + "command=curl&command=169.254.169.254%e0%80%af&container=c",
	p + "command=curl&command=METADATA.GOOGLE.INTERNAL%2FcomputeMetadata%2Fv1%2F&container=c&stdout=true",
	p + "command=curl&command=METADATA.GOOGLE.INTERNAL&container=c&stdout=true",
	p + "command=curl&command=0xA9FEA9FE&container=c&stdout=true",
	p + "command=curl&command=0xa9fea9fe&container=c&stdout=true",
	p + "command=curl&command=2852039166%2Flatest%2Fdynamic%2Finstance-identity%2Fdocument&container=c&stdout=true",
	p + "command=curl&command=http%3A%2F%2F%5Bfd00%3Aec2%3A%3A254%5D%2Flatest%2Fmeta-data%2F&container=c&stdout=true",
	p + "command=curl&command=0251.0376.0251.0376&container=c&stdout=true",
	p + "command=curl&command=169.254.169.254%26container%3Dx&command=more&container=c&stdout=true",
	p + "command=echo&command=a%2Bb+169.254.169.254&container=c&stdout=true",
	p + "command=curl&command=-X&command=PUT&command=http%3A%2F%2F169.254.169.254%2Flatest%2Fapi%2Ftoken&container=c&stdout=true",
	p + "command=curl&command=http%3A%2F%2F169.254.169.254%2Flatest%2Fdynamic%2F&container=c&stdout=true",
	p + "command=curl&command=metadata.google.internal%2FcomputeMetadata%2Fv1%2Finstance%2Fservice-accounts%2Fx%0A%2Ftoken&container=c&stdout=true",
	p + "command=curl&command=169.254.169.254%0D&container=c&stdout=true",
	p + "command=curl&command=169.254.169.254%E2%80%A8&container=c&stdout=true",
	p + "command=curl&command=169.254.169.254%C2%85&container=c&stdout=true",
	p + "command=curl&command=169.254.169.254&container=c&command=%2Flatest%2Fapi%2Ftoken&stdout=true",
	"/api/v1/namespaces/default/pods/exec/exec?command=curl&command=169.254.169.254&container=c&stdout=true",
	"/api/v1/namespaces/x/pods/p/exec?container=c&command=curl&command=169.254.169.254&stdout=true",
	p + "command=curl&command=169.254.169.254&container=c&stdout=true&command=%2Flatest%2Fapi%2Ftoken",
	p + "command=curl&command=169%2E254%2E169%2E254&container=c&stdout=true",
	p + "command=%ef%bc%91&container=c",
	p + "command=curl&command=169.254.169.254%\uff10\uff41&container=c",
	p + "command=curl&command=169.254.169.254%\u0661\u0662&container=c",
	p + "command=curl&command=169.254.169.254%\U0001D7CE\U0001D7CF&container=c",
	p + "command=curl&command=169.254.169.254%\uff21\uff26&container=c",
	p + "command=curl&command=169.254.169.254 space&container=c",
	p + "command=curl&command=\u00e9169.254.169.254&container=c",
	p + "command=curl%20169.254.169.254&container=c",
	p + "command=c%25url+169.254.169.254&container=c",
	p + "command=&command=169.254.169.254&container=c",
	p + "&container=c&command=169.254.169.254",
	p + "command=curl&command=169.254.169.254&containers=c&stdout=true",
	p + "command=curl&command=169.254.169.254&stdinx=1&stdin=true",
	p + "command=curl&command=security-credentials+0xa9fea9fe&container=c",
	p + "command=x&command=service-accounts%2Fa%2Fb%2Ftoken+computeMetadata%2Fv1&container=c",
}

var pieces = []string{
	"command=", "&", "container=", "stdin=", "stdout=", "stderr=", "tty=", "/exec?", "true", "curl", "+", " ",
	"%", "%2F", "%26", "%2B", "%0A", "%0a", "%zz", "%+1", "%-0", "%-1", "%E2", "%82", "%AC", "%C3", "%A9", "%F0",
	"%9F", "%ED", "%A0", "%80", "169.254.169.254", "2852039166", "0xa9fea9fe", "/latest/api/token",
	"/latest/meta-data", "/latest/dynamic", "computeMetadata/v1", "metadata.google.internal",
	"metadata/identity/oauth2/token", "metadata/instance", "security-credentials", "service-accounts/",
	"/token", "\n", "\u00e9", "\uff10", "=", "?", "command", "exec",
}

func main() {
	for _, s := range hand {
		emit(s)
	}
	rnd := rand.New(rand.NewSource(1))
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		b.WriteString(p)
		n := 1 + rnd.Intn(14)
		for j := 0; j < n; j++ {
			b.WriteString(pieces[rnd.Intn(len(pieces))])
		}
		emit(b.String())
	}
}

func emit(s string) {
	// The same escaping as EsqlRef.json: ASCII only, UTF-16 escapes.
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r > 0x7e:
			if r > 0xFFFF {
				r -= 0x10000
				fmt.Fprintf(&b, "\\u%04x\\u%04x", 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			} else {
				fmt.Fprintf(&b, "\\u%04x", r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	fmt.Println(b.String())
}
