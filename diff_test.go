package backoffice_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/backoffice-go/backoffice"
)

type place struct{ city string }

func (p place) AuditValue() string { return "in " + p.city }

type record struct {
	ID       string            // not tagged: never recorded
	Name     string            `audit:"name"`
	Active   bool              `audit:"active"`
	Count    int               `audit:"count"`
	Roles    []string          `audit:"roles"`
	Born     time.Time         `audit:"born,date"`
	Seen     time.Time         `audit:"seen"`
	Password backoffice.Secret `audit:"password"`
	Places   []place           `audit:"places"`
	Version  int64             `audit:"-"`
	Settings settings          `audit:"settings"`
}

type settings struct {
	On     bool                `audit:"on"`
	Groups map[string][]string `audit:"groups"`
}

// X2: a change records the fields that differ, before and after, and a
// secret only as changed, never its value.
func TestDiff(t *testing.T) {
	born := time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)
	a := record{ID: "1", Name: "Ada", Count: 1, Roles: []string{"x"}, Password: "old-hash", Version: 1}
	b := record{ID: "2", Name: "Ada L", Active: true, Count: 1, Roles: []string{"x", "y"}, Born: born,
		Seen: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Password: "new-hash", Places: []place{{"Paris"}, {"Oslo"}}, Version: 2,
		Settings: settings{On: true, Groups: map[string][]string{"ops": {"a", "b"}, "dev": {"c"}}}}
	assert.Equal(t, []backoffice.Change{
		{Field: "name", Before: "Ada", After: "Ada L"},
		{Field: "active", Before: "false", After: "true"},
		{Field: "roles", Before: "x", After: "x,y"},
		{Field: "born", Before: "", After: "1990-05-17"},
		{Field: "seen", Before: "", After: "2026-01-02T03:04:05Z"},
		{Field: "password", Before: backoffice.Redacted, After: backoffice.Redacted},
		{Field: "places", Before: "", After: "in Paris;in Oslo"},
		{Field: "settings.on", Before: "false", After: "true"},
		{Field: "settings.groups", Before: "", After: "dev=c;ops=a,b"},
	}, backoffice.Diff(&a, &b))
	assert.Empty(t, backoffice.Diff(a, a))
	created := backoffice.Diff(nil, &record{Name: "Ada", Password: "hash"})
	assert.Equal(t, []backoffice.Change{{Field: "name", Before: "", After: "Ada"},
		{Field: "password", Before: backoffice.Redacted, After: backoffice.Redacted}}, created)
	for _, c := range backoffice.Diff(&a, &b) {
		assert.NotContains(t, c.Before+c.After, "hash", "X2: never a secret")
	}
	assert.Panics(t, func() { backoffice.Diff(a, place{}) })
}
