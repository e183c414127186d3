package enduser_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
)

func ptr[T any](v T) *T { return &v }

// E1: every type has its record and its own required fields.
func TestCreateTypes(t *testing.T) {
	e := newEnv(t)
	p := e.create(enduser.NewEndUser{Type: enduser.TypePhysicalPerson, Tag: "crm-42", FirstName: "Ada", LastName: "Lovelace",
		Email: "Ada@Example.com", Phone: "+44 20 7946 0958", BirthDate: time.Date(1815, 12, 10, 0, 0, 0, 0, time.UTC).AddDate(100, 0, 0),
		Address: enduser.Address{Line1: "12 St James's Square", City: "London", PostalCode: "SW1Y 4JH", Country: "gb"}})
	assert.Equal(t, enduser.StatusPending, p.Status)
	assert.Equal(t, enduser.KYCNone, p.KYC)
	assert.Equal(t, "ada@example.com", p.Email)
	assert.Equal(t, "GB", p.Address.Country)
	assert.Equal(t, int64(1), p.Version)
	assert.Equal(t, tenantID, p.Tenant)
	assert.Equal(t, e.clock.Now(), p.CreatedAt)
	for _, typ := range []enduser.Type{enduser.TypeBusiness, enduser.TypeNGO, enduser.TypeGovernment} {
		u := e.create(enduser.NewEndUser{Type: typ, LegalName: "Org " + string(typ)})
		assert.Equal(t, typ, u.Type)
		_, err := e.svc.Create(e.admin, enduser.NewEndUser{Type: typ, FirstName: "No", LastName: "Legal"})
		requireFields(t, err, "legal_name")
	}
	for name, tc := range map[string]struct {
		in     enduser.NewEndUser
		fields []string
	}{
		"PersonWithoutNames": {enduser.NewEndUser{Type: enduser.TypePhysicalPerson, LegalName: "X"}, []string{"first_name", "last_name"}},
		"UnknownType":        {enduser.NewEndUser{Type: "robot"}, []string{"type"}},
		"FutureBirthDate":    {withBirth(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)), []string{"birth_date"}},
		"AncientBirthDate":   {withBirth(time.Date(1850, 1, 1, 0, 0, 0, 0, time.UTC)), []string{"birth_date"}},
		"BusinessBirthDate": {enduser.NewEndUser{Type: enduser.TypeBusiness, LegalName: "B", BirthDate: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)},
			[]string{"birth_date"}},
		"BadContact": {enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "A", LastName: "B", Email: "nope", Phone: "0612",
			Address: enduser.Address{Country: "XX"}}, []string{"email", "phone", "address.country"}},
		"UnknownCountry":  {withResidence(enduser.TaxResidence{Country: "ZZ"}), []string{"tax_residences[0].country"}},
		"MissingUSTIN":    {withResidence(enduser.TaxResidence{Country: "US"}), []string{"tax_residences[0].tin"}},
		"MalformedUSTIN":  {withResidence(enduser.TaxResidence{Country: "US", TIN: "12-34-5678"}), []string{"tax_residences[0].tin"}},
		"NeverIssuedSSN":  {withResidence(enduser.TaxResidence{Country: "US", TIN: "000-12-3456"}), []string{"tax_residences[0].tin"}},
		"DuplicateRes":    {withResidence(enduser.TaxResidence{Country: "FR"}, enduser.TaxResidence{Country: "fr"}), []string{"tax_residences[1].country"}},
		"ControlChars":    {enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "A\x00", LastName: "B", Tag: "t\x01g"}, []string{"first_name", "tag"}},
		"UnknownParent":   {withParent("nope"), []string{"parent"}},
		"ParentElsewhere": {withParent(""), []string{"parent"}},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "ParentElsewhere" {
				tc.in.Parent = otherTenantUser(t, e)
			}
			before, _ := e.store.FindEndUsers(context.Background(), tenantID, enduser.Query{})
			_, err := e.svc.Create(e.admin, tc.in)
			requireFields(t, err, tc.fields...)
			after, _ := e.store.FindEndUsers(context.Background(), tenantID, enduser.Query{})
			assert.Len(t, after, len(before), "X7: nothing stored")
		})
	}
}

func withBirth(d time.Time) enduser.NewEndUser {
	in := person("Tim", "Traveller")
	in.BirthDate = d
	return in
}

func withResidence(r ...enduser.TaxResidence) enduser.NewEndUser {
	in := person("Tax", "Payer")
	in.TaxResidences = r
	return in
}

func withParent(id enduser.ID) enduser.NewEndUser {
	in := person("Kid", "Child")
	in.Parent = id
	return in
}

// otherTenantUser makes a user in another tenant (X8).
func otherTenantUser(t *testing.T, e *env) enduser.ID {
	t.Helper()
	ctx := accessctl.NewContext(context.Background(), accessctl.SystemActor("globex", "test"))
	u, err := e.svc.Create(ctx, person("Other", "Tenant"))
	require.NoError(t, err)
	return u.ID
}

// E2: search by id, tag, email and name (part of a word, any case, first,
// last or legal name or email), paginated and stable.
func TestSearch(t *testing.T) {
	e := newEnv(t)
	ada := e.create(enduser.NewEndUser{Type: enduser.TypePhysicalPerson, Tag: "vip", FirstName: "Ada", LastName: "Lovelace", Email: "ada@analytical.io"})
	grace := e.create(enduser.NewEndUser{Type: enduser.TypePhysicalPerson, Tag: "vip", FirstName: "Grace", LastName: "Hopper", Email: "grace@navy.mil"})
	corp := e.create(enduser.NewEndUser{Type: enduser.TypeBusiness, LegalName: "Lovelace Engines Ltd", Email: "contact@engines.example"})
	other := otherTenantUser(t, e)
	search := func(q enduser.SearchQuery) []enduser.ID {
		t.Helper()
		p, err := e.svc.Search(e.admin, q, backoffice.PageRequest{})
		require.NoError(t, err)
		var out []enduser.ID
		for _, u := range p.Items {
			out = append(out, u.ID)
		}
		return out
	}
	assert.Equal(t, []enduser.ID{ada.ID}, search(enduser.SearchQuery{ID: ada.ID}))
	assert.Empty(t, search(enduser.SearchQuery{ID: other}), "X8")
	assert.Equal(t, []enduser.ID{grace.ID, ada.ID}, search(enduser.SearchQuery{Tag: "vip"}))
	assert.Equal(t, []enduser.ID{grace.ID}, search(enduser.SearchQuery{Email: "GRACE@navy.mil"}))
	assert.Equal(t, []enduser.ID{corp.ID, ada.ID}, search(enduser.SearchQuery{Name: "LOVEL"}), "first, last and legal names")
	assert.Equal(t, []enduser.ID{ada.ID}, search(enduser.SearchQuery{Name: "lytic"}), "part of the email")
	assert.Equal(t, []enduser.ID{ada.ID}, search(enduser.SearchQuery{Name: "ada lovelace"}), "first and last name together")
	assert.Equal(t, []enduser.ID{ada.ID}, search(enduser.SearchQuery{Name: "love", Tag: "vip"}), "fields combine")
	assert.Empty(t, search(enduser.SearchQuery{Name: "100%_\\'\""}), "special characters are searched literally")
	_, err := e.svc.Search(e.admin, enduser.SearchQuery{}, backoffice.PageRequest{})
	requireFields(t, err, "query")
	_, err = e.svc.Search(e.admin, enduser.SearchQuery{Name: "ad"}, backoffice.PageRequest{})
	requireFields(t, err, "name")
	// Pages are stable: a user created between pages does not shift them.
	for i := range 5 {
		e.create(enduser.NewEndUser{Type: enduser.TypeBusiness, LegalName: fmt.Sprintf("Paged Corp %d", i)})
	}
	p1, err := e.svc.Search(e.admin, enduser.SearchQuery{Name: "paged"}, backoffice.PageRequest{Limit: 2})
	require.NoError(t, err)
	require.Len(t, p1.Items, 2)
	assert.Equal(t, "Paged Corp 4", p1.Items[0].LegalName)
	e.create(enduser.NewEndUser{Type: enduser.TypeBusiness, LegalName: "Paged Corp new"})
	p2, err := e.svc.Search(e.admin, enduser.SearchQuery{Name: "paged"}, backoffice.PageRequest{Limit: 2, Cursor: p1.Next})
	require.NoError(t, err)
	assert.Equal(t, "Paged Corp 2", p2.Items[0].LegalName)
	p3, err := e.svc.Search(e.admin, enduser.SearchQuery{Name: "paged"}, backoffice.PageRequest{Limit: 2, Cursor: p2.Next})
	require.NoError(t, err)
	assert.Len(t, p3.Items, 1)
	assert.Empty(t, p3.Next)
}

// E3: all users newest first, filtered by type, date range and status,
// combined, with a cursor; Canceled users stay listed.
func TestList(t *testing.T) {
	e := newEnv(t)
	var made []*enduser.EndUser
	for i := range 12 {
		e.clock.Advance(time.Hour)
		in := person(fmt.Sprintf("P%02d", i), "Person")
		if i%3 == 0 {
			in = enduser.NewEndUser{Type: enduser.TypeBusiness, LegalName: fmt.Sprintf("B%02d", i)}
		}
		made = append(made, e.create(in))
	}
	v := e.validated(person("Val", "Idated"))
	e.wallets.Set(v.ID)
	canceled, err := e.svc.Deactivate(e.admin, v.ID, v.Version)
	require.NoError(t, err)
	all, err := e.svc.List(e.admin, enduser.Filter{}, backoffice.PageRequest{Limit: 100})
	require.NoError(t, err)
	require.Len(t, all.Items, 13)
	assert.Equal(t, canceled.ID, all.Items[0].ID, "newest first, Canceled listed")
	biz := enduser.TypeBusiness
	pending := enduser.StatusPending
	from, to := made[3].CreatedAt, made[10].CreatedAt
	page, err := e.svc.List(e.admin, enduser.Filter{Type: &biz, Status: &pending, CreatedFrom: from, CreatedTo: to}, backoffice.PageRequest{Limit: 1})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	assert.Equal(t, made[9].ID, page.Items[0].ID)
	page, err = e.svc.List(e.admin, enduser.Filter{Type: &biz, Status: &pending, CreatedFrom: from, CreatedTo: to}, backoffice.PageRequest{Limit: 1, Cursor: page.Next})
	require.NoError(t, err)
	assert.Equal(t, made[6].ID, page.Items[0].ID)
	page, err = e.svc.List(e.admin, enduser.Filter{Type: &biz, Status: &pending, CreatedFrom: from, CreatedTo: to}, backoffice.PageRequest{Limit: 1, Cursor: page.Next})
	require.NoError(t, err)
	assert.Equal(t, made[3].ID, page.Items[0].ID)
	assert.Empty(t, page.Next)
	n, err := e.svc.Count(e.admin, enduser.Filter{Type: &biz, Status: &pending, CreatedFrom: from, CreatedTo: to})
	require.NoError(t, err)
	assert.Equal(t, 3, n, "E3: an opt-in total")
	_, err = e.svc.Count(e.admin, enduser.Filter{CreatedFrom: to, CreatedTo: from})
	requireFields(t, err, "created_to")
	st := enduser.StatusCanceled
	page, err = e.svc.List(e.admin, enduser.Filter{Status: &st}, backoffice.PageRequest{})
	require.NoError(t, err)
	assert.Len(t, page.Items, 1)
	_, err = e.svc.List(e.admin, enduser.Filter{Type: ptr(enduser.Type("x")), Status: ptr(enduser.Status("y")), CreatedFrom: to, CreatedTo: from}, backoffice.PageRequest{})
	requireFields(t, err, "type", "status", "created_to")
	_, err = e.svc.List(e.admin, enduser.Filter{}, backoffice.PageRequest{Cursor: "!!"})
	requireFields(t, err, "cursor")
}

// E4, X4: updates are validated and versioned; bad input changes nothing.
func TestUpdate(t *testing.T) {
	e := newEnv(t)
	u := e.create(person("Ann", "Smith"))
	u2, err := e.svc.Update(e.admin, u.ID, enduser.Update{Version: u.Version, LastName: ptr("Jones"), Phone: ptr("+33 6 12 34 56 78"),
		Address: &enduser.Address{City: "Paris", Country: "FR"}})
	require.NoError(t, err)
	assert.Equal(t, "Jones", u2.LastName)
	assert.Equal(t, int64(2), u2.Version)
	hist := e.history(u.ID)
	assert.Equal(t, backoffice.ActionEndUserUpdate, hist[0].Action)
	assert.Contains(t, hist[0].Changes, backoffice.Change{Field: "last_name", Before: "Smith", After: "Jones"})
	for name, up := range map[string]enduser.Update{
		"Email":     {Version: u2.Version, Email: ptr("not-an-email")},
		"Phone":     {Version: u2.Version, Phone: ptr("12345")},
		"Country":   {Version: u2.Version, Address: &enduser.Address{Country: "France"}},
		"BirthDate": {Version: u2.Version, BirthDate: ptr(e.clock.Now().AddDate(0, 0, 2))},
		"EmptyName": {Version: u2.Version, FirstName: ptr("  ")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.Update(e.admin, u.ID, up)
			requireKind(t, err, backoffice.ErrInvalid)
			e.unchanged(u2)
		})
	}
	_, err = e.svc.Update(e.admin, u.ID, enduser.Update{Version: u.Version, FirstName: ptr("Stale")})
	requireKind(t, err, backoffice.ErrConflict)
	e.unchanged(u2)
}

// E5: tax residences are added, edited and removed; the TIN is optional
// except for US taxpayers, where it is mandatory and format-checked.
func TestTaxResidences(t *testing.T) {
	e := newEnv(t)
	u := e.create(person("Tom", "Payer"))
	u, err := e.svc.AddTaxResidence(e.admin, u.ID, u.Version, enduser.TaxResidence{Country: "fr"})
	require.NoError(t, err)
	require.Len(t, u.TaxResidences, 1)
	assert.Equal(t, "FR", u.TaxResidences[0].Country)
	before := u
	_, err = e.svc.AddTaxResidence(e.admin, u.ID, u.Version, enduser.TaxResidence{Country: "US"})
	requireFields(t, err, "tax_residences[1].tin")
	_, err = e.svc.AddTaxResidence(e.admin, u.ID, u.Version, enduser.TaxResidence{Country: "US", TIN: "123456"})
	requireFields(t, err, "tax_residences[1].tin")
	_, err = e.svc.AddTaxResidence(e.admin, u.ID, u.Version, enduser.TaxResidence{Country: "QQ"})
	requireFields(t, err, "tax_residences[1].country")
	e.unchanged(before)
	u, err = e.svc.AddTaxResidence(e.admin, u.ID, u.Version, enduser.TaxResidence{Country: "US", TIN: "123-45-6789"})
	require.NoError(t, err)
	us := u.TaxResidences[1]
	u, err = e.svc.UpdateTaxResidence(e.admin, u.ID, u.Version, enduser.TaxResidence{ID: us.ID, Country: "US", TIN: "12-3456789"})
	require.NoError(t, err)
	assert.Equal(t, "12-3456789", u.TaxResidences[1].TIN)
	_, err = e.svc.UpdateTaxResidence(e.admin, u.ID, u.Version, enduser.TaxResidence{ID: "nope", Country: "DE"})
	requireKind(t, err, backoffice.ErrNotFound)
	u, err = e.svc.RemoveTaxResidence(e.admin, u.ID, u.Version, u.TaxResidences[0].ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"US"}, []string{u.TaxResidences[0].Country})
	hist := e.history(u.ID)
	assert.Equal(t, backoffice.ActionEndUserRemoveTaxResidence, hist[0].Action)
	for _, h := range hist {
		for _, c := range h.Changes {
			assert.NotContains(t, c.After, "3456789", "the audit log masks TINs")
		}
	}
}

// E6: only a Validated user with empty wallets is deactivated; Canceled
// is final, and there is no delete at all.
func TestDeactivate(t *testing.T) {
	e := newEnv(t)
	pend := e.create(person("Pen", "Ding"))
	_, err := e.svc.Deactivate(e.admin, pend.ID, pend.Version)
	requireKind(t, err, backoffice.ErrFailedPrecondition)
	e.unchanged(pend)
	u := e.validated(person("Rich", "Person"))
	e.wallets.Set(u.ID, enduser.Balance{Wallet: "w-1", Currency: "EUR", Amount: 0}, enduser.Balance{Wallet: "w-2", Currency: "EUR", Amount: 1250})
	_, err = e.svc.Deactivate(e.admin, u.ID, u.Version)
	requireKind(t, err, backoffice.ErrFailedPrecondition)
	assert.Contains(t, err.Error(), "wallet w-2 holds 12.50 EUR")
	e.unchanged(u)
	e.wallets.Set(u.ID, enduser.Balance{Wallet: "w-1", Currency: "EUR"})
	c, err := e.svc.Deactivate(e.admin, u.ID, u.Version)
	require.NoError(t, err)
	assert.Equal(t, enduser.StatusCanceled, c.Status)
	_, err = e.svc.Deactivate(e.admin, c.ID, c.Version)
	requireKind(t, err, backoffice.ErrFailedPrecondition)
	_, err = e.svc.Update(e.admin, c.ID, enduser.Update{Version: c.Version, FirstName: ptr("Back")})
	requireKind(t, err, backoffice.ErrFailedPrecondition)
	_, err = e.svc.RequestKYCReview(e.admin, c.ID, c.Version)
	requireKind(t, err, backoffice.ErrFailedPrecondition)
	// By design (regulation) nothing deletes an end user.
	for _, typ := range []reflect.Type{reflect.TypeOf(e.svc), reflect.TypeOf((*enduser.Store)(nil)).Elem()} {
		for i := range typ.NumMethod() {
			name := typ.Method(i).Name
			assert.False(t, strings.HasPrefix(name, "Delete") || strings.HasPrefix(name, "Remove") && !strings.Contains(name, "TaxResidence"),
				"%s has %s", typ, name)
		}
	}
}

// E6, X4: 50 goroutines race to deactivate and update the same user:
// exactly one deactivation wins; no update is lost silently.
func TestDeactivateRace(t *testing.T) {
	e := newEnv(t)
	u := e.validated(person("Race", "Car"))
	var deact, updated, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = e.svc.Deactivate(e.admin, u.ID, u.Version)
				if err == nil {
					deact.Add(1)
				}
			} else {
				_, err = e.svc.Update(e.admin, u.ID, enduser.Update{Version: u.Version, Tag: ptr(fmt.Sprintf("t%d", i))})
				if err == nil {
					updated.Add(1)
				}
			}
			if err != nil {
				if !errors.Is(err, backoffice.ErrConflict) && !errors.Is(err, backoffice.ErrFailedPrecondition) {
					t.Error(err)
				}
				conflicts.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), deact.Load()+updated.Load(), "exactly one write wins")
	assert.Equal(t, int32(49), conflicts.Load(), "every other writer is told")
	got, _ := e.store.EndUser(context.Background(), tenantID, u.ID)
	assert.Equal(t, u.Version+1, got.Version)

	// Only deactivations racing: exactly one wins.
	v := e.validated(person("Solo", "Target"))
	deact.Store(0)
	for range 50 {
		wg.Go(func() {
			if _, err := e.svc.Deactivate(e.admin, v.ID, v.Version); err == nil {
				deact.Add(1)
			} else if !errors.Is(err, backoffice.ErrConflict) && !errors.Is(err, backoffice.ErrFailedPrecondition) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), deact.Load())
}

// E7: self-onboarding users get an activation link, show in the lists of
// uncompleted and completed onboardings, and become searchable users on
// completion.
func TestOnboarding(t *testing.T) {
	e := newEnv(t)
	signup := accessctl.NewContext(context.Background(), accessctl.SystemActor(tenantID, "signup"))
	o, err := e.svc.StartOnboarding(signup, person("Olly", "Onboard"))
	require.NoError(t, err)
	notices := e.rec.EndUserNotices()
	require.Len(t, notices, 1)
	n := notices[0]
	assert.Equal(t, enduser.NoticeActivation, n.Kind)
	assert.Equal(t, "olly.onboard@example.com", n.Email)
	o2, err := e.svc.StartOnboarding(signup, person("Never", "Finished"))
	require.NoError(t, err)
	ob := e.as("onboarder", accessctl.RoleReadOnly)
	open, err := e.svc.Onboardings(ob, false, backoffice.PageRequest{})
	require.NoError(t, err)
	assert.Equal(t, []string{o2.ID, o.ID}, []string{open.Items[0].ID, open.Items[1].ID})
	found, err := e.svc.Search(e.admin, enduser.SearchQuery{Name: "olly"}, backoffice.PageRequest{})
	require.NoError(t, err)
	assert.Empty(t, found.Items, "not searchable before completion")

	u, err := e.svc.CompleteOnboarding(context.Background(), n.Token)
	require.NoError(t, err)
	assert.NotEmpty(t, u.ID)
	assert.Equal(t, o.ID, u.OnboardingID)
	found, err = e.svc.Search(e.admin, enduser.SearchQuery{Name: "olly"}, backoffice.PageRequest{})
	require.NoError(t, err)
	require.Len(t, found.Items, 1)
	assert.Equal(t, u.ID, found.Items[0].ID)
	done, err := e.svc.Onboardings(ob, true, backoffice.PageRequest{})
	require.NoError(t, err)
	require.Len(t, done.Items, 1)
	assert.Equal(t, u.ID, done.Items[0].User)
	open, _ = e.svc.Onboardings(ob, false, backoffice.PageRequest{})
	assert.Len(t, open.Items, 1)
	_, err = e.svc.CompleteOnboarding(context.Background(), n.Token)
	requireFields(t, err, "token")
	e.clock.Advance(8 * 24 * time.Hour)
	_, err = e.svc.CompleteOnboarding(context.Background(), e.rec.EndUserNotices()[1].Token)
	requireFields(t, err, "token")
	_, err = e.svc.StartOnboarding(signup, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "No", LastName: "Mail"})
	requireFields(t, err, "email")
	_, err = e.svc.Onboardings(e.as("transfer", accessctl.RoleTransferOnly), false, backoffice.PageRequest{})
	require.NoError(t, err, "every dashboard role sees the onboarding view")
}

// E8: the forgot-password email shows where it goes and can be switched off.
func TestForgotPassword(t *testing.T) {
	e := newEnv(t)
	u := e.create(person("Fay", "Forget"))
	to, err := e.svc.SendForgotPassword(e.admin, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "fay.forget@example.com", to)
	n := e.rec.EndUserNotices()
	require.Len(t, n, 1)
	assert.Equal(t, enduser.NoticeForgotPassword, n[0].Kind)
	assert.Equal(t, backoffice.ActionEndUserForgotPassword, e.history(u.ID)[0].Action)
	tn, err := e.ops.Tenant(e.admin)
	require.NoError(t, err)
	_, err = e.ops.ConfigureTenant(e.admin, accessctl.TenantSettings{Version: tn.Version, EndUserForgotPasswordOff: ptr(true)})
	require.NoError(t, err)
	_, err = e.svc.SendForgotPassword(e.admin, u.ID)
	requireKind(t, err, backoffice.ErrFailedPrecondition)
	assert.Len(t, e.rec.EndUserNotices(), 1)
	ro := e.as("reader", accessctl.RoleReadOnly)
	_, err = e.svc.SendForgotPassword(ro, u.ID)
	requireKind(t, err, backoffice.ErrForbidden)
}

// E9: children users, their list and their tree; no parent from another
// tenant, no cycle.
func TestChildren(t *testing.T) {
	e := newEnv(t)
	root := e.create(enduser.NewEndUser{Type: enduser.TypeBusiness, LegalName: "Holding"})
	a := e.create(withParentOf(root.ID, "A"))
	b := e.create(withParentOf(root.ID, "B"))
	a1 := e.create(withParentOf(a.ID, "A1"))
	kids, err := e.svc.Children(e.admin, root.ID, backoffice.PageRequest{})
	require.NoError(t, err)
	assert.Equal(t, []enduser.ID{b.ID, a.ID}, []enduser.ID{kids.Items[0].ID, kids.Items[1].ID})
	tree, err := e.svc.Tree(e.admin, root.ID)
	require.NoError(t, err)
	require.Len(t, tree.Children, 2)
	assert.Equal(t, a1.ID, tree.Children[1].Children[0].User.ID)
	assert.False(t, tree.Truncated)
	// A cycle is refused: root cannot become a child of its grandchild.
	_, err = e.svc.Update(e.admin, root.ID, enduser.Update{Version: root.Version, Parent: ptr(a1.ID)})
	requireFields(t, err, "parent")
	_, err = e.svc.Update(e.admin, a.ID, enduser.Update{Version: a.Version, Parent: ptr(a.ID)})
	requireFields(t, err, "parent")
	e.unchanged(root)
	_, err = e.svc.Update(e.admin, a.ID, enduser.Update{Version: a.Version, Parent: ptr(otherTenantUser(t, e))})
	requireFields(t, err, "parent")
	_, err = e.svc.Children(e.admin, "nope", backoffice.PageRequest{})
	requireKind(t, err, backoffice.ErrNotFound)
	moved, err := e.svc.Update(e.admin, a1.ID, enduser.Update{Version: a1.Version, Parent: ptr(b.ID)})
	require.NoError(t, err)
	assert.Equal(t, b.ID, moved.Parent)
	kids, _ = e.svc.Children(e.admin, a.ID, backoffice.PageRequest{})
	assert.Empty(t, kids.Items)
}

func withParentOf(p enduser.ID, name string) enduser.NewEndUser {
	in := person(name+"x", "Child")
	in.Parent = p
	return in
}

// E10: KYC review requests and outcomes follow checked transitions.
func TestKYC(t *testing.T) {
	e := newEnv(t)
	u := e.create(person("Kay", "Why"))
	_, err := e.svc.RecordKYCOutcome(e.admin, u.ID, u.Version, enduser.KYCValidated, "")
	requireKind(t, err, backoffice.ErrFailedPrecondition)
	e.unchanged(u)
	u, err = e.svc.RequestKYCReview(e.admin, u.ID, u.Version)
	require.NoError(t, err)
	assert.Equal(t, enduser.KYCPending, u.KYC)
	_, err = e.svc.RequestKYCReview(e.admin, u.ID, u.Version)
	requireKind(t, err, backoffice.ErrFailedPrecondition)
	_, err = e.svc.RecordKYCOutcome(e.admin, u.ID, u.Version, enduser.KYCNone, "")
	requireFields(t, err, "outcome")
	um := e.as("usermgr", accessctl.RoleUserManagement)
	_, err = e.svc.RecordKYCOutcome(um, u.ID, u.Version, enduser.KYCRefused, "blurry")
	requireKind(t, err, backoffice.ErrForbidden)
	u, err = e.svc.RecordKYCOutcome(e.admin, u.ID, u.Version, enduser.KYCRefused, "blurry passport")
	require.NoError(t, err)
	assert.Equal(t, enduser.KYCRefused, u.KYC)
	assert.Equal(t, enduser.StatusPending, u.Status)
	u, err = e.svc.RequestKYCReview(um, u.ID, u.Version)
	require.NoError(t, err)
	u, err = e.svc.RecordKYCOutcome(e.admin, u.ID, u.Version, enduser.KYCValidated, "new passport ok")
	require.NoError(t, err)
	assert.Equal(t, enduser.StatusValidated, u.Status)
	hist := e.history(u.ID)
	assert.Contains(t, hist[0].Changes, backoffice.Change{Field: "kyc", Before: "pending", After: "validated"})
}

// E11: every operation needs its permission, and nothing crosses tenants.
func TestPermissionsAndTenancy(t *testing.T) {
	e := newEnv(t)
	u := e.validated(person("Perm", "Check"))
	ro := e.as("reader", accessctl.RoleReadOnly)
	writes := map[string]func(ctx context.Context) error{
		"Create": func(ctx context.Context) error { _, err := e.svc.Create(ctx, person("N", "U")); return err },
		"Update": func(ctx context.Context) error {
			_, err := e.svc.Update(ctx, u.ID, enduser.Update{Version: u.Version, Tag: ptr("x")})
			return err
		},
		"AddTaxResidence": func(ctx context.Context) error {
			_, err := e.svc.AddTaxResidence(ctx, u.ID, u.Version, enduser.TaxResidence{Country: "FR"})
			return err
		},
		"Deactivate":         func(ctx context.Context) error { _, err := e.svc.Deactivate(ctx, u.ID, u.Version); return err },
		"SendForgotPassword": func(ctx context.Context) error { _, err := e.svc.SendForgotPassword(ctx, u.ID); return err },
		"RequestKYCReview":   func(ctx context.Context) error { _, err := e.svc.RequestKYCReview(ctx, u.ID, u.Version); return err },
		"StartOnboarding":    func(ctx context.Context) error { _, err := e.svc.StartOnboarding(ctx, person("O", "B")); return err },
	}
	for name, call := range writes {
		t.Run(name, func(t *testing.T) {
			requireKind(t, call(context.Background()), backoffice.ErrUnauthenticated)
			requireKind(t, call(ro), backoffice.ErrForbidden)
			e.unchanged(u)
		})
	}
	_, err := e.svc.Get(context.Background(), u.ID)
	requireKind(t, err, backoffice.ErrUnauthenticated)
	got, err := e.svc.Get(ro, u.ID)
	require.NoError(t, err, "a reader reads")
	assert.Equal(t, u, got)
	other := accessctl.NewContext(context.Background(), accessctl.SystemActor("globex", "t"))
	_, err = e.svc.Get(other, u.ID)
	requireKind(t, err, backoffice.ErrNotFound)
	_, err = e.svc.Deactivate(other, u.ID, u.Version)
	requireKind(t, err, backoffice.ErrNotFound)
	list, err := e.svc.List(other, enduser.Filter{}, backoffice.PageRequest{})
	require.NoError(t, err)
	assert.Empty(t, list.Items)
	for _, h := range e.history(u.ID) {
		assert.Equal(t, tenantID, h.Tenant)
		assert.NotEmpty(t, h.Actor.ID)
	}
}

// Types are shown as people read them.
func TestTypeTitles(t *testing.T) {
	for typ, want := range map[enduser.Type]string{enduser.TypePhysicalPerson: "Physical person", enduser.TypeBusiness: "Business",
		enduser.TypeNGO: "Non-governmental organization", enduser.TypeGovernment: "Governmental organization", "other": "other"} {
		assert.Equal(t, want, typ.Title())
	}
}
