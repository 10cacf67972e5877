package detect

import (
	"reflect"
	"sort"
	"testing"
)

// TestEvidence is the step between normalized text and verdict: which
// indicators one text yields.
func TestEvidence(t *testing.T) {
	cases := []struct {
		text string
		want []string // kind:canonical, sorted
	}{
		{"curl http://169.254.169.254/latest/meta-data/", []string{"address:169.254.169.254", "path:/latest/meta-data"}},
		{"curl 169.254.169.254/latest/meta-data/", []string{"address:169.254.169.254", "path:/latest/meta-data"}},
		{"wget http://user@0251.0376.0251.0376:80/latest/user-data", []string{"address:169.254.169.254", "path:/latest/user-data"}},
		{"curl http://[fd00:ec2::254]/", []string{"address:fd00:ec2::254"}},
		{"nc 169.254.169.254 80", []string{"address:169.254.169.254"}},
		{"socat - TCP:169.254.169.254:80", []string{"address:169.254.169.254"}},
		{"curl --resolve x:80:169.254.169.254 http://x/", []string{"address:169.254.169.254"}},
		{"exec 3<>/dev/tcp/0xa9fea9fe/80", []string{"address:169.254.169.254"}},
		{"GET /computeMetadata/v1/instance/service-accounts/default/token HTTP/1.1", []string{"path:/computeMetadata/*/instance/service-accounts/*/token"}},
		{"curl -H 'Host: metadata.google.internal' http://10.0.0.1/", []string{"hostname:metadata.google.internal"}},
		{"curl http://metadata/computeMetadata/v1/", []string{"hostname:metadata", "path:/computeMetadata"}},
		{"curl -H 'Metadata: true' http://imds.example/", nil}, // header alone: strong, but no host
		{"requests.get('http://169.254.' + '169.254/latest/api/token')", []string{"address:169.254.169.254", "path:/latest/api/token"}},
		{"curl http://169.254.169.254%2Flatest%2Fmeta-data", []string{"address:169.254.169.254", "path:/latest/meta-data"}},
		{"curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", []string{"address:169.254.170.2", "env:AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"}},
		{"echo $ECS_CONTAINER_METADATA_URI_V4", []string{"env:ECS_CONTAINER_METADATA_URI_V4"}},
		{"iptables -d 169.254.169.254/32 -j DROP", []string{"address:169.254.169.254"}},
		{"select metadata from instance", nil},
		{"curl http://metadata-api/instance", nil},
		{"curl http://10.0.0.1/v1/token", nil},
	}
	for _, c := range cases {
		ev := newEvidence(Default)
		ev.scan(c.text)
		var got []string
		for _, f := range ev.findings {
			if f.Kind == KindHeader {
				continue
			}
			got = append(got, f.Kind+":"+f.Canonical)
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %v, want %v", c.text, got, c.want)
		}
	}
}

func TestSplitPathQuery(t *testing.T) {
	cases := []struct{ in, path, query string }{
		{"http://169.254.169.254/latest/meta-data?x=1", "/latest/meta-data", "x=1"},
		{"169.254.169.254/latest", "/latest", ""},
		{"http://a@b/c", "/c", ""},
		{"http://169.254.169.254", "", ""},
		{"http://169.254.169.254?comp=versions", "/", "comp=versions"},
		{"http://x/#frag", "/", ""},
	}
	for _, c := range cases {
		p, q := splitPathQuery(c.in)
		if p != c.path || q != c.query {
			t.Errorf("%q: (%q, %q), want (%q, %q)", c.in, p, q, c.path, c.query)
		}
	}
}
