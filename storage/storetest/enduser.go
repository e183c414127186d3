package storetest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
)

func (f *fixture) endUser(t *testing.T, tenant backoffice.TenantID, mod func(u *enduser.EndUser)) *enduser.EndUser {
	t.Helper()
	u := &enduser.EndUser{ID: enduser.ID(f.ids.next("u")), Tenant: tenant, Type: enduser.TypePhysicalPerson, Status: enduser.StatusPending,
		KYC: enduser.KYCNone, FirstName: "First", LastName: "Last", CreatedAt: base, UpdatedAt: base}
	if mod != nil {
		mod(u)
	}
	require.NoError(t, f.EndUsers.CreateEndUser(ctx(), u, f.entry(tenant, enduser.TargetEndUser, string(u.ID), "enduser.create")))
	return u
}

func (f *fixture) find(t *testing.T, tenant backoffice.TenantID, q enduser.Query) []enduser.ID {
	t.Helper()
	us, err := f.EndUsers.FindEndUsers(ctx(), tenant, q)
	require.NoError(t, err)
	out := []enduser.ID{}
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}

// tenants creates tenants, for adapters whose records need one.
func (f *fixture) tenants(t *testing.T, ids ...backoffice.TenantID) {
	t.Helper()
	for _, id := range ids {
		f.tenant(t, id)
	}
}

func testEndUsers(t *testing.T, newStores func(*testing.T) Stores) {
	t.Run("CreateAndRead", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenants(t, "t1", "t2")
		parent := f.endUser(t, "t1", nil)
		u := f.endUser(t, "t1", func(u *enduser.EndUser) {
			u.Tag, u.Type, u.Status, u.KYC, u.KYCNote = "crm-1", enduser.TypeBusiness, enduser.StatusValidated, enduser.KYCValidated, "ok"
			u.LegalName, u.Email, u.Phone = "Acme Ltd", "hello@acme.test", "+33612345678"
			u.Address = enduser.Address{Line1: "1 rue de la Paix", Line2: "3e étage", PostalCode: "75002", City: "Paris", State: "IDF", Country: "FR"}
			u.BirthDate = time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)
			u.Parent = parent.ID
			u.TaxResidences = []enduser.TaxResidence{{ID: "r1", Country: "FR", TIN: "1234"}, {ID: "r2", Country: "US", TIN: "123-45-6789"}}
			u.OnboardingID = "ob-1"
		})
		assert.Equal(t, int64(1), u.Version)
		got, err := f.EndUsers.EndUser(ctx(), "t1", u.ID)
		require.NoError(t, err)
		assert.Equal(t, u, got)
		got.TaxResidences[0].TIN = "changed"
		again, _ := f.EndUsers.EndUser(ctx(), "t1", u.ID)
		assert.Equal(t, "1234", again.TaxResidences[0].TIN, "a store must not share its records")
		_, err = f.EndUsers.EndUser(ctx(), "t2", u.ID)
		requireKind(t, err, backoffice.ErrNotFound) // X8
		dup := u.Clone()
		requireKind(t, f.EndUsers.CreateEndUser(ctx(), dup, f.entry("t1", enduser.TargetEndUser, string(u.ID), "x")), backoffice.ErrConflict)
		assert.Len(t, f.history(t, "t1", enduser.TargetEndUser, string(u.ID)), 1)
	})
	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenants(t, "t1")
		u := f.endUser(t, "t1", func(u *enduser.EndUser) { u.Email = "old@x.test"; u.Tag = "old" })
		u.Email, u.Tag, u.LastName = "new@x.test", "new", "Newname"
		require.NoError(t, f.EndUsers.UpdateEndUser(ctx(), u, 1, f.entry("t1", enduser.TargetEndUser, string(u.ID), "u1")))
		assert.Equal(t, int64(2), u.Version)
		assert.Empty(t, f.find(t, "t1", enduser.Query{Email: "old@x.test"}), "indexes follow updates")
		assert.Equal(t, []enduser.ID{u.ID}, f.find(t, "t1", enduser.Query{Email: "new@x.test"}))
		assert.Empty(t, f.find(t, "t1", enduser.Query{Tag: "old"}))
		assert.Equal(t, []enduser.ID{u.ID}, f.find(t, "t1", enduser.Query{Name: "newname"}))
		stale := u.Clone()
		stale.Tag = "stale"
		requireKind(t, f.EndUsers.UpdateEndUser(ctx(), stale, 1, f.entry("t1", enduser.TargetEndUser, string(u.ID), "u2")), backoffice.ErrConflict)
		got, _ := f.EndUsers.EndUser(ctx(), "t1", u.ID)
		assert.Equal(t, u, got)
		assert.Len(t, f.history(t, "t1", enduser.TargetEndUser, string(u.ID)), 2, "X2: no entry without its change")
		ghost := u.Clone()
		ghost.ID = "ghost"
		requireKind(t, f.EndUsers.UpdateEndUser(ctx(), ghost, 1, f.entry("t1", enduser.TargetEndUser, "ghost", "u")), backoffice.ErrNotFound)
	})
	t.Run("UpdateConcurrent", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenants(t, "t1")
		u := f.endUser(t, "t1", nil)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				c := u.Clone()
				c.Tag = fmt.Sprintf("t%d", i)
				err := f.EndUsers.UpdateEndUser(ctx(), c, 1, f.entry("t1", enduser.TargetEndUser, string(u.ID), "u"))
				if err == nil {
					wins.Add(1)
				} else if !errors.Is(err, backoffice.ErrConflict) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load())
	})
	t.Run("Find", func(t *testing.T) {
		t.Parallel()
		// E2, E3: the same results from every store.
		f := newFixture(t, newStores)
		f.tenants(t, "t1", "t2")
		biz, ngo := enduser.TypeBusiness, enduser.TypeNGO
		pend, val := enduser.StatusPending, enduser.StatusValidated
		ada := f.endUser(t, "t1", func(u *enduser.EndUser) {
			u.FirstName, u.LastName, u.Email, u.Tag, u.CreatedAt = "Ada", "Lovelace", "ada@analytical.io", "vip", base.Add(time.Hour)
		})
		corp := f.endUser(t, "t1", func(u *enduser.EndUser) {
			u.Type, u.FirstName, u.LastName, u.LegalName, u.Email, u.Status, u.CreatedAt = biz, "", "", "Lovelace Engines Ltd", "Contact@Engines.test", val, base.Add(2*time.Hour)
		})
		odd := f.endUser(t, "t1", func(u *enduser.EndUser) {
			u.Type, u.LegalName, u.Tag, u.CreatedAt = ngo, `100% _real_ \o/ O'Brien "quoted"`, "vip", base.Add(3*time.Hour)
		})
		kid := f.endUser(t, "t1", func(u *enduser.EndUser) { u.Parent, u.FirstName, u.CreatedAt = corp.ID, "Kid", base.Add(4*time.Hour) })
		f.endUser(t, "t2", func(u *enduser.EndUser) { u.FirstName, u.Email, u.Tag = "Ada", "ada@analytical.io", "vip" })
		all := []enduser.ID{kid.ID, odd.ID, corp.ID, ada.ID}
		for name, tc := range map[string]struct {
			q    enduser.Query
			want []enduser.ID
		}{
			"All":             {enduser.Query{}, all},
			"Limit":           {enduser.Query{Limit: 2}, all[:2]},
			"Before":          {enduser.Query{Before: &enduser.Key{CreatedAt: odd.CreatedAt, ID: odd.ID}}, all[2:]},
			"BeforeSameTime":  {enduser.Query{Before: &enduser.Key{CreatedAt: odd.CreatedAt, ID: "~"}}, all[1:]},
			"ID":              {enduser.Query{ID: corp.ID}, []enduser.ID{corp.ID}},
			"IDAndWrongType":  {enduser.Query{ID: corp.ID, Type: &ngo}, nil},
			"Tag":             {enduser.Query{Tag: "vip"}, []enduser.ID{odd.ID, ada.ID}},
			"EmailAnyCase":    {enduser.Query{Email: "contact@engines.test"}, []enduser.ID{corp.ID}},
			"NamePart":        {enduser.Query{Name: "lovel"}, []enduser.ID{corp.ID, ada.ID}},
			"NameEmail":       {enduser.Query{Name: "lytic"}, []enduser.ID{ada.ID}},
			"NameAcross":      {enduser.Query{Name: "ada lovelace"}, []enduser.ID{ada.ID}},
			"NameAndTag":      {enduser.Query{Name: "lovel", Tag: "vip"}, []enduser.ID{ada.ID}},
			"Percent":         {enduser.Query{Name: "100%"}, []enduser.ID{odd.ID}},
			"PercentLiteral":  {enduser.Query{Name: "%"}, []enduser.ID{odd.ID}},
			"Underscore":      {enduser.Query{Name: "_real_"}, []enduser.ID{odd.ID}},
			"UnderscoreOnly":  {enduser.Query{Name: "a_a"}, nil},
			"Backslash":       {enduser.Query{Name: `\o/`}, []enduser.ID{odd.ID}},
			"Quotes":          {enduser.Query{Name: `o'brien "quoted"`}, []enduser.ID{odd.ID}},
			"Type":            {enduser.Query{Type: &biz}, []enduser.ID{corp.ID}},
			"Status":          {enduser.Query{Status: &pend}, []enduser.ID{kid.ID, odd.ID, ada.ID}},
			"StatusType":      {enduser.Query{Status: &val, Type: &biz}, []enduser.ID{corp.ID}},
			"DateRange":       {enduser.Query{CreatedFrom: base.Add(2 * time.Hour), CreatedTo: base.Add(4 * time.Hour)}, []enduser.ID{odd.ID, corp.ID}},
			"DateRangeStatus": {enduser.Query{CreatedFrom: base.Add(2 * time.Hour), Status: &pend}, []enduser.ID{kid.ID, odd.ID}},
			"Parent":          {enduser.Query{Parent: &corp.ID}, []enduser.ID{kid.ID}},
			"NoMatch":         {enduser.Query{Name: "zzz"}, nil},
		} {
			t.Run(name, func(t *testing.T) {
				want := tc.want
				if want == nil {
					want = []enduser.ID{}
				}
				assert.Equal(t, want, f.find(t, "t1", tc.q))
				if tc.q.Limit == 0 && tc.q.Before == nil {
					n, err := f.EndUsers.CountEndUsers(ctx(), "t1", tc.q)
					require.NoError(t, err)
					assert.Equal(t, len(want), n, "CountEndUsers agrees")
				}
			})
		}
	})
	t.Run("NameAcrossTime", func(t *testing.T) {
		t.Parallel()
		// E2, C4: a name search pages through users created over years,
		// from before 2000 to the future, newest first and none twice or
		// missed, in pages of one, four and fifty.
		f := newFixture(t, newStores)
		f.tenants(t, "t1", "t2")
		now := time.Now().UTC().Truncate(time.Second)
		var users []*enduser.EndUser
		mk := func(at time.Time, first, last string) {
			users = append(users, f.endUser(t, "t1", func(u *enduser.EndUser) { u.FirstName, u.LastName, u.CreatedAt = first, last, at }))
		}
		for k := range 120 { // every 20 days back, about six and a half years
			first := "Common"
			if k%10 == 3 {
				first = "Zed"
			}
			mk(now.Add(-time.Duration(k)*20*24*time.Hour), first, fmt.Sprintf("Name%03d", k))
		}
		mk(now.Add(400*24*time.Hour), "Common", "Future")
		mk(now.Add(time.Hour), "Zed", "Soon")
		mk(now.Add(-7*20*24*time.Hour), "Zed", "Twin") // the same instant as another: the id breaks the tie
		mk(time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC), "Zed", "Millennium")
		mk(time.Date(1987, 6, 5, 4, 3, 2, 0, time.UTC), "Common", "O'Old")
		f.endUser(t, "t2", func(u *enduser.EndUser) { u.FirstName, u.LastName, u.CreatedAt = "Zed", "Common", now })
		sort.Slice(users, func(i, j int) bool { return enduser.KeyOf(users[j]).Less(enduser.KeyOf(users[i])) }) // newest first
		byID := map[enduser.ID]*enduser.EndUser{}
		for _, u := range users {
			byID[u.ID] = u
		}
		for _, frag := range []string{"common", "zed", "name05", "e007", "future", "old", "o'o", "nomatch"} {
			want := []enduser.ID{}
			for _, u := range users {
				if strings.Contains(enduser.SearchText(u), frag) {
					want = append(want, u.ID)
				}
			}
			for _, limit := range []int{1, 4, 50} {
				got := []enduser.ID{}
				q := enduser.Query{Name: frag, Limit: limit}
				for {
					page := f.find(t, "t1", q)
					got = append(got, page...)
					if len(page) < limit {
						break
					}
					k := enduser.KeyOf(byID[page[len(page)-1]])
					q.Before = &k
				}
				assert.Equal(t, want, got, "%q in pages of %d", frag, limit)
			}
		}
	})
	t.Run("AppendAuditEntry", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		require.NoError(t, f.Audit.AppendAuditEntry(ctx(), f.entry("t1", enduser.TargetEndUser, "u-1", "enduser.forgot_password")))
		es := f.history(t, "t1", enduser.TargetEndUser, "u-1")
		require.Len(t, es, 1)
		assert.Equal(t, backoffice.ActionEndUserForgotPassword, es[0].Action)
	})
}

func testOnboardings(t *testing.T, newStores func(*testing.T) Stores) {
	t.Run("Lifecycle", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenants(t, "t1", "t2")
		mk := func(tenant backoffice.TenantID, act string) *enduser.Onboarding {
			o := &enduser.Onboarding{ID: f.ids.next("ob"), Tenant: tenant, ActivationID: act,
				Profile: enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Olly", LastName: "On", Email: "o@x.test",
					TaxResidences: []enduser.TaxResidence{{Country: "FR"}}, BirthDate: time.Date(1999, 1, 2, 0, 0, 0, 0, time.UTC)},
				ExpiresAt: base.Add(time.Hour), CreatedAt: base, UpdatedAt: base}
			require.NoError(t, f.EndUsers.CreateOnboarding(ctx(), o, f.entry(tenant, enduser.TargetOnboarding, o.ID, "onboarding.start")))
			return o
		}
		o1 := mk("t1", "act-1")
		o2 := mk("t1", "act-2")
		mk("t2", "act-3")
		got, err := f.EndUsers.OnboardingByActivation(ctx(), "act-1")
		require.NoError(t, err)
		assert.Equal(t, o1, got)
		_, err = f.EndUsers.OnboardingByActivation(ctx(), "nope")
		requireKind(t, err, backoffice.ErrNotFound)
		open, err := f.EndUsers.Onboardings(ctx(), "t1", enduser.OnboardingQuery{})
		require.NoError(t, err)
		assert.Equal(t, []string{o2.ID, o1.ID}, []string{open[0].ID, open[1].ID})
		u := &enduser.EndUser{ID: "u-ob", Tenant: "t1", Type: enduser.TypePhysicalPerson, Status: enduser.StatusPending, KYC: enduser.KYCNone,
			FirstName: "Olly", LastName: "On", OnboardingID: o1.ID, CreatedAt: base, UpdatedAt: base}
		done := o1.Clone()
		done.User, done.CompletedAt = u.ID, base.Add(time.Minute)
		require.NoError(t, f.EndUsers.CompleteOnboarding(ctx(), done, 1, u, f.entry("t1", enduser.TargetOnboarding, o1.ID, "onboarding.complete"),
			f.entry("t1", enduser.TargetEndUser, string(u.ID), "enduser.create")))
		assert.Equal(t, int64(2), done.Version)
		again := o1.Clone()
		again.User = "u-other"
		u2 := u.Clone()
		u2.ID = "u-other"
		err = f.EndUsers.CompleteOnboarding(ctx(), again, 1, u2, f.entry("t1", enduser.TargetOnboarding, o1.ID, "x"), f.entry("t1", enduser.TargetEndUser, "u-other", "x"))
		requireKind(t, err, backoffice.ErrConflict)
		_, err = f.EndUsers.EndUser(ctx(), "t1", "u-other")
		requireKind(t, err, backoffice.ErrNotFound) // atomic: no user without its completion
		assert.Empty(t, f.history(t, "t1", enduser.TargetEndUser, "u-other"))
		stored, err := f.EndUsers.EndUser(ctx(), "t1", u.ID)
		require.NoError(t, err)
		assert.Equal(t, o1.ID, stored.OnboardingID)
		completed, err := f.EndUsers.Onboardings(ctx(), "t1", enduser.OnboardingQuery{Completed: true})
		require.NoError(t, err)
		require.Len(t, completed, 1)
		assert.Equal(t, done, completed[0])
		open, _ = f.EndUsers.Onboardings(ctx(), "t1", enduser.OnboardingQuery{Limit: 5})
		assert.Len(t, open, 1)
		// H1: the completion's two entries, written by one statement, take
		// consecutive places in the chain, and the refused second
		// completion took none.
		chain := requireChain(t, f.Audit, "t1")
		last := chain[len(chain)-2:]
		assert.ElementsMatch(t, []backoffice.Action{"onboarding.complete", "enduser.create"}, []backoffice.Action{last[0].Action, last[1].Action})
	})
}

func testDevices(t *testing.T, newStores func(*testing.T) Stores) {
	t.Run("Lifecycle", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, newStores)
		f.tenants(t, "t1", "t2", "t3")
		for _, k := range []struct {
			tenant backoffice.TenantID
			id     enduser.ID
		}{{"t1", "u1"}, {"t1", "u2"}, {"t2", "u1"}, {"t3", "u1"}} {
			f.endUser(t, k.tenant, func(u *enduser.EndUser) { u.ID = k.id })
		}
		mk := func(tenant backoffice.TenantID, user enduser.ID, at time.Time) *scadevice.Device {
			d := &scadevice.Device{ID: scadevice.ID(f.ids.next("d")), Tenant: tenant, User: user, Kind: scadevice.KindMobile,
				Status: scadevice.StatusPasscodeMissing, Tag: "t", Info: "Pixel", CreatedAt: at, UpdatedAt: at}
			require.NoError(t, f.Devices.CreateDevice(ctx(), d, f.entry(tenant, scadevice.TargetDevice, string(d.ID), "scadevice.enrol")))
			return d
		}
		d1 := mk("t1", "u1", base)
		d2 := mk("t1", "u1", base.Add(time.Minute))
		mk("t1", "u2", base)
		mk("t2", "u1", base)
		got, err := f.Devices.Device(ctx(), "t1", d1.ID)
		require.NoError(t, err)
		assert.Equal(t, d1, got)
		_, err = f.Devices.Device(ctx(), "t2", d1.ID)
		requireKind(t, err, backoffice.ErrNotFound)
		d1.Status, d1.LockReason, d1.LockMessage, d1.LockedAt = scadevice.StatusLocked, scadevice.ReasonSuspectedFraud, "msg", base.Add(time.Hour)
		require.NoError(t, f.Devices.UpdateDevice(ctx(), d1, 1, f.entry("t1", scadevice.TargetDevice, string(d1.ID), "scadevice.lock")))
		requireKind(t, f.Devices.UpdateDevice(ctx(), d1, 1, f.entry("t1", scadevice.TargetDevice, string(d1.ID), "x")), backoffice.ErrConflict)
		got, _ = f.Devices.Device(ctx(), "t1", d1.ID)
		assert.Equal(t, d1, got)
		assert.Len(t, f.history(t, "t1", scadevice.TargetDevice, string(d1.ID)), 2)
		d2.Deleted, d2.DeletedAt = true, base.Add(2*time.Hour)
		require.NoError(t, f.Devices.UpdateDevice(ctx(), d2, 1, f.entry("t1", scadevice.TargetDevice, string(d2.ID), "scadevice.delete")))
		active, err := f.Devices.Devices(ctx(), "t1", "u1", false)
		require.NoError(t, err)
		require.Len(t, active, 1)
		assert.Equal(t, d1, active[0])
		deleted, err := f.Devices.Devices(ctx(), "t1", "u1", true)
		require.NoError(t, err)
		require.Len(t, deleted, 1)
		assert.Equal(t, d2, deleted[0])
		none, err := f.Devices.Devices(ctx(), "t3", "u1", false)
		require.NoError(t, err)
		assert.Empty(t, none)
	})
}
