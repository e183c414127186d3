package enduser_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/enduser"
)

var firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis",
	"Radia", "Niklaus", "Hedy", "Tim", "Katherine", "Linus", "Sophie", "John", "Lynn", "Vint"}
var lastNames = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie",
	"Perlman", "Wirth", "Lamarr", "Berners", "Johnson", "Torvalds", "Wilson", "McCarthy", "Conway", "Cerf"}

// loaded returns an env whose store holds n users, made through the store
// so that loading is fast; the searches then go through the service.
func loaded(b *testing.B, n int) (*env, []*enduser.EndUser) {
	b.Helper()
	e := newEnv(b)
	users := make([]*enduser.EndUser, n)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		f, l := firstNames[i%len(firstNames)], lastNames[(i/len(firstNames))%len(lastNames)]
		u := &enduser.EndUser{ID: enduser.ID(fmt.Sprintf("u-%09d", i)), Tenant: tenantID, Tag: fmt.Sprintf("tag-%d", i),
			Type: enduser.Types()[i%4], Status: enduser.StatusValidated, KYC: enduser.KYCValidated,
			FirstName: f, LastName: fmt.Sprintf("%s%d", l, i), LegalName: "", Email: fmt.Sprintf("user%d@example.com", i),
			CreatedAt: base.Add(time.Duration(i) * time.Minute), UpdatedAt: base}
		require.NoError(b, e.store.CreateEndUser(context.Background(), u, backoffice.AuditEntry{ID: fmt.Sprintf("a-%09d", i), Tenant: tenantID}))
		users[i] = u
	}
	return e, users
}

// BenchmarkSearch100k: exact lookups must be O(1) (≤ 2 µs/op) and a name
// search at most 50 ms/op with 100,000 users in the memory store.
func BenchmarkSearch100k(b *testing.B) {
	e, users := loaded(b, 100_000)
	target := users[54_321]
	run := func(name string, q enduser.SearchQuery, want int) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := e.svc.Search(e.admin, q, backoffice.PageRequest{Limit: 50})
				if err != nil || len(p.Items) != want {
					b.Fatalf("got %d items, %v", len(p.Items), err)
				}
			}
		})
	}
	run("ID", enduser.SearchQuery{ID: target.ID}, 1)
	run("Email", enduser.SearchQuery{Email: target.Email}, 1)
	run("Tag", enduser.SearchQuery{Tag: target.Tag}, 1)
	run("NameSelective", enduser.SearchQuery{Name: strings.ToLower(target.LastName)}, 1)
	run("NameBroad", enduser.SearchQuery{Name: "love"}, 50)
	run("NameNone", enduser.SearchQuery{Name: "zzzzzz"}, 0)
	b.Run("ListFiltered", func(b *testing.B) {
		typ := enduser.TypeBusiness
		st := enduser.StatusValidated
		for b.Loop() {
			p, err := e.svc.List(e.admin, enduser.Filter{Type: &typ, Status: &st, CreatedFrom: users[10_000].CreatedAt, CreatedTo: users[90_000].CreatedAt},
				backoffice.PageRequest{Limit: 50})
			if err != nil || len(p.Items) != 50 {
				b.Fatal(err)
			}
		}
	})
}
