package shellnorm

import (
	"strconv"

	"mvdan.cc/sh/v3/expand"
)

// vars holds the variables shared by a shell and the shells it starts.
// Sharing, rather than passing only exported variables, over-approximates
// what a nested shell can see, which is what a detection wants.
type vars struct {
	m     map[string]*variable
	funcs map[string]funcDef
}

// variable is a shell variable with the values it held before. Since every
// branch of a script is evaluated, an earlier value may be the one a real run
// would use: `if true; then H=a; else H=b; fi` leaves H=b here, and alts
// keeps "a" so that commands using $H are also expanded with it.
type variable struct {
	v    expand.Variable
	alts []string
	// big marks a value kept as written because its expansion was too
	// large; it counts as the largest value for the bounds.
	big bool
}

// Get implements [expand.Environ]; the shell's special parameters are
// answered by the shell itself.
func (s *shell) Get(name string) expand.Variable {
	n := s.n
	if n.ovOn && name == n.ovName {
		return expand.Variable{Set: true, Kind: expand.String, Str: n.ovVal}
	}
	switch name {
	case "@", "*":
		return expand.Variable{Set: true, Kind: expand.Indexed, List: s.params}
	case "#":
		return strVar(strconv.Itoa(len(s.params)))
	case "0":
		return strVar(s.arg0)
	case "?", "!":
		return strVar("0")
	case "$", "BASHPID":
		return strVar("4242")
	case "PPID":
		return strVar("4241")
	case "RANDOM", "SRANDOM":
		return strVar("4243")
	case "-":
		return strVar("hB")
	}
	if len(name) > 0 && name[0] >= '1' && name[0] <= '9' {
		if i, err := strconv.Atoi(name); err == nil {
			if i <= len(s.params) {
				return strVar(s.params[i-1])
			}
			return expand.Variable{}
		}
	}
	if len(name) > 5 && name[:5] == "HOME " {
		// ~user: keep it as written instead of looking up the user,
		// which would read /etc/passwd.
		return strVar("~" + name[5:])
	}
	if v, ok := s.vars.m[name]; ok {
		return v.v
	}
	return expand.Variable{}
}

// Each implements [expand.Environ].
func (s *shell) Each(fn func(name string, vr expand.Variable) bool) {
	for name, v := range s.vars.m {
		if !fn(name, v.v) {
			return
		}
	}
}

// Set implements [expand.WriteEnviron], for ${x:=v} and arithmetic
// assignments made by the expand package.
func (s *shell) Set(name string, vr expand.Variable) error {
	if !vr.IsSet() {
		delete(s.vars.m, name)
		return nil
	}
	if vr.Kind == expand.KeepValue {
		return nil
	}
	s.setVariable(name, vr)
	return nil
}

func strVar(s string) expand.Variable {
	return expand.Variable{Set: true, Kind: expand.String, Str: s}
}

// setVar assigns a string value, remembering the value it replaces and any
// alternative values computed for it.
func (s *shell) setVar(name, val string, alts []string) {
	if !validName(name) {
		return
	}
	s.n.step(1)
	val = s.n.capValue(val, "variable")
	v := s.vars.m[name]
	if v == nil {
		v = &variable{}
		s.vars.m[name] = v
	}
	var keep []string
	add := func(a string) {
		if a == val || len(keep) >= maxAlts {
			return
		}
		for _, k := range keep {
			if k == a {
				return
			}
		}
		keep = append(keep, a)
	}
	for _, a := range alts {
		add(s.n.capValue(a, "variable"))
	}
	if v.v.IsSet() && v.v.Kind == expand.String {
		add(v.v.Str)
		for _, a := range v.alts {
			add(a)
		}
	}
	v.alts = keep
	if len(keep) > 0 {
		s.n.anyAlts = true
	}
	v.v = expand.Variable{Set: true, Exported: v.v.Exported, Kind: expand.String, Str: val}
	v.big = false
}

// setBig assigns a value that was too large to expand, kept as written.
func (s *shell) setBig(name, raw string) {
	s.setVar(name, raw, nil)
	if v := s.vars.m[name]; v != nil {
		v.big = true
		v.alts = nil
	}
}

// setVariable assigns a variable of any kind, without alternatives.
func (s *shell) setVariable(name string, vr expand.Variable) {
	if !validName(name) {
		return
	}
	s.n.step(1)
	switch vr.Kind {
	case expand.String, expand.NameRef:
		vr.Str = s.n.capValue(vr.Str, "variable")
	case expand.Indexed:
		vr.List = s.capList(vr.List)
		if len(vr.Indexes) >= len(vr.List) {
			vr.Indexes = vr.Indexes[:len(vr.List)]
		} else {
			vr.Indexes = nil
		}
		if len(vr.Indexes) == 0 {
			vr.Indexes = nil
		}
	case expand.Associative:
		total := 0
		for k, e := range vr.Map {
			total += len(k) + len(e)
		}
		if total > s.n.maxVar || len(vr.Map) > maxFields {
			s.n.limit("variable too large")
			vr.Map = nil
		}
	}
	v := s.vars.m[name]
	if v == nil {
		v = &variable{}
		s.vars.m[name] = v
	}
	v.v = vr
	v.alts = nil
	v.big = false
}

// capList bounds the elements of an array.
func (s *shell) capList(list []string) []string {
	total := 0
	for i, e := range list {
		total += len(e)
		if total > s.n.maxVar || i >= maxFields {
			s.n.limit("array too large")
			return list[:i]
		}
	}
	return list
}
