package detect

import (
	"fmt"
	"math/rand"
	"net/netip"
	"strings"
	"testing"

	"github.com/imdsguard/imdsguard/auditgen"
)

// TestGeneratedLookalikes builds commands around addresses and names that
// resemble metadata endpoints without being one: other link-local
// addresses (the Route 53 resolver, Amazon Time Sync, node-local DNS),
// in-cluster services named metadata-*, and words such as "metadata" and
// "token" in SQL, jq and kubectl. None may alert.
func TestGeneratedLookalikes(t *testing.T) {
	metadataAddrs := map[netip.Addr]bool{}
	for _, r := range Default.Addresses {
		a, _ := netip.ParseAddr(r.Address)
		metadataAddrs[a] = true
	}
	rnd := rand.New(rand.NewSource(3))
	var hosts []string
	for len(hosts) < 330 {
		a := netip.AddrFrom4([4]byte{169, 254, byte(rnd.Intn(256)), byte(rnd.Intn(256))})
		if !metadataAddrs[a] {
			hosts = append(hosts, a.String())
		}
	}
	hosts = append(hosts, "169.254.169.253", "169.254.169.123", "169.254.20.10", "10.96.0.10",
		"metadata-service", "metadata-api.default.svc", "metadata-store.prod.svc.cluster.local",
		"instance-metadata-exporter.monitoring", "google.internal", "metadata.example.com", "my-metadata")
	templates := []string{
		"curl -s http://%s/healthz",
		"curl http://%s:8080/latest/items",
		"wget -qO- http://%s/v1/items",
		"nslookup kubernetes.default %s",
		"dig @%s example.com",
		"ping -c 1 %s",
		"curl -H 'Accept: application/json' https://%s/api/instance",
		"sh -c 'for i in 1 2 3; do curl -s http://%s/status; done'",
		"psql -h %s -c \"select metadata->>'instance' from assets\"",
	}
	s := NewStrict()
	n := 0
	for _, h := range hosts {
		for _, tmpl := range templates {
			cmd := fmt.Sprintf(tmpl, h)
			n++
			if v := s.Analyze([]string{"sh", "-c", cmd}); v.Match {
				t.Errorf("false alarm on %q: %+v", cmd, v.Indicators)
			}
		}
	}
	// The benign exec commands of the audit log generator.
	for _, argv := range auditgen.BenignArgv {
		n++
		if v := s.Analyze(argv); v.Match {
			t.Errorf("false alarm on %q: %+v", argv, v.Indicators)
		}
	}
	t.Logf("%d look-alike commands, none alerted", n)
	if n < 3000 {
		t.Fatalf("only %d commands", n)
	}
}

// TestGeneratorAttacksAlert: every attack command of the audit log
// generator is caught (they feed the examples and the benchmark).
func TestGeneratorAttacksAlert(t *testing.T) {
	s := NewStrict()
	for _, argv := range auditgen.AttackArgv {
		if v := s.Analyze(argv); !v.Match {
			t.Errorf("missed %q", strings.Join(argv, " "))
		}
	}
}
