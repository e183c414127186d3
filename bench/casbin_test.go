// Package bench puts the library's authorization beside Casbin's, in one
// go test -bench run. It is a module of its own, so that the library
// gains no dependency: cd bench && go test -run '^$' -bench . -benchmem
package bench

import (
	"fmt"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// operators is how many operators hold the eight roles, in turn.
const operators = 1000

// rbac is Casbin's role-based model for the same question Authorize
// answers: does this operator hold this permission through its roles?
const rbac = `
[request_definition]
r = sub, perm

[policy_definition]
p = sub, perm

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.perm == p.perm
`

// fixture is the eight-role preset with 1,000 operators, for both.
// Administrators hold every permission of the catalog, so the denied
// questions are asked of the others only (deniers).
type fixture struct {
	actors  []*accessctl.Actor
	names   []string
	allowed []accessctl.Permission // a permission each operator holds
	denied  []accessctl.Permission // one it lacks, "" for an Administrator
	deniers []int
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	k := memorytest.New(nil)
	preset := accessctl.DashboardPreset()
	f := &fixture{}
	for i := range operators {
		role := preset.Roles[i%len(preset.Roles)]
		a, ok := accessctl.ActorFrom(k.As(role.Name))
		if !ok {
			tb.Fatal("no actor")
		}
		f.actors = append(f.actors, a)
		f.names = append(f.names, fmt.Sprintf("operator%d", i))
		f.allowed = append(f.allowed, role.Permissions[i%len(role.Permissions)])
		d := lacking(k.Ops.Catalog(), a)
		f.denied = append(f.denied, d)
		if d != "" {
			f.deniers = append(f.deniers, i)
		}
	}
	return f
}

// lacking is a permission of the catalog the actor does not hold.
func lacking(c *accessctl.Catalog, a *accessctl.Actor) accessctl.Permission {
	for _, p := range c.Permissions() {
		if !a.Can(p.Name) {
			return p.Name
		}
	}
	return ""
}

// enforcer loads the same roles and grants into Casbin.
func (f *fixture) enforcer(tb testing.TB, cached bool) casbin.IEnforcer {
	tb.Helper()
	m, err := model.NewModelFromString(rbac)
	if err != nil {
		tb.Fatal(err)
	}
	var e casbin.IEnforcer
	if cached {
		e, err = casbin.NewCachedEnforcer(m)
	} else {
		e, err = casbin.NewEnforcer(m)
	}
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range accessctl.DashboardPreset().Roles {
		for _, p := range r.Permissions {
			if _, err := e.AddPolicy(string(r.Name), string(p)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	for i, a := range f.actors {
		for _, r := range a.Roles() {
			if _, err := e.AddGroupingPolicy(f.names[i], string(r)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return e
}

// TestSameAnswers checks that both answer every question alike, so the
// benchmarks compare like with like.
func TestSameAnswers(t *testing.T) {
	f := newFixture(t)
	e := f.enforcer(t, false)
	for i, a := range f.actors {
		for _, p := range []accessctl.Permission{f.allowed[i], f.denied[i]} {
			if p == "" {
				continue
			}
			ours := a.Authorize(p) == nil
			theirs, err := e.Enforce(f.names[i], string(p))
			if err != nil {
				t.Fatal(err)
			}
			if ours != theirs {
				t.Fatalf("operator %d, %s: Authorize %v, Casbin %v", i, p, ours, theirs)
			}
		}
	}
}

func BenchmarkAuthorization(b *testing.B) {
	f := newFixture(b)
	all := make([]int, operators)
	for i := range all {
		all[i] = i
	}
	for _, c := range []struct {
		name string
		who  []int
		perm func(i int) accessctl.Permission
		want bool
	}{
		{"Allowed", all, func(i int) accessctl.Permission { return f.allowed[i] }, true},
		{"Denied", f.deniers, func(i int) accessctl.Permission { return f.denied[i] }, false},
	} {
		b.Run("Authorize/"+c.name, func(b *testing.B) {
			j := 0
			for b.Loop() {
				j = (j + 1) % len(c.who)
				i := c.who[j]
				if (f.actors[i].Authorize(c.perm(i)) == nil) != c.want {
					b.Fatal("wrong answer")
				}
			}
		})
		for _, cached := range []bool{false, true} {
			name := "CasbinEnforce/"
			if cached {
				name = "CasbinCachedEnforcer/"
			}
			e := f.enforcer(b, cached)
			b.Run(name+c.name, func(b *testing.B) {
				j := 0
				for b.Loop() {
					j = (j + 1) % len(c.who)
					i := c.who[j]
					ok, err := e.Enforce(f.names[i], string(c.perm(i)))
					if err != nil || ok != c.want {
						b.Fatal("wrong answer", err)
					}
				}
			})
		}
	}
}
