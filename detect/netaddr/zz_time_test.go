package netaddr

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestZZTime(t *testing.T) {
	dir := os.Getenv("ZZDIR")
	ents, _ := os.ReadDir(dir)
	type r struct {
		d    time.Duration
		name string
		n    int
	}
	var rs []r
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		lines := strings.SplitN(string(b), "\n", 3)
		s := lines[1]
		s = strings.TrimSuffix(strings.TrimPrefix(s, "string("), ")")
		u, err := strconv.Unquote(s)
		if err != nil {
			continue
		}
		st := time.Now()
		for i := 0; i < 10; i++ {
			for _, h := range Hosts(u) {
				Canonical(h)
			}
		}
		rs = append(rs, r{time.Since(st) / 10, e.Name(), len(u)})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].d > rs[j].d })
	for _, x := range rs[:min(5, len(rs))] {
		t.Log(x.d, x.name, x.n)
	}
}

func TestZZScale(t *testing.T) {
	b, _ := os.ReadFile(os.Getenv("ZZFILE"))
	s := strings.SplitN(string(b), "\n", 3)[1]
	u, _ := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(s, "string("), ")"))
	for _, k := range []int{1, 2, 4, 8, 12} {
		in := strings.Repeat(u, k)
		st := time.Now()
		n := 0
		for i := 0; i < 20; i++ {
			hs := Hosts(in)
			n = len(hs)
			for _, h := range hs {
				Canonical(h)
			}
		}
		t.Log(len(in), time.Since(st)/20, n)
	}
}
