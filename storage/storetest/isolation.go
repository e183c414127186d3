package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
)

// notActed are the methods a tenant's actor does not reach another
// tenant through, and why.
var notActed = map[string]string{
	// The caller names the tenant, with no actor: a login page, an
	// identity provider, the host's set-up.
	"Login": "tenant named", "ForgotPassword": "tenant named", "ProvisionSSO": "tenant named", "Bootstrap": "tenant named",
	"RefuseSSO": "tenant named", "AuthenticateSCIM": "bearer token", "UseOnce": "tenant named", "ActorOf": "tenant named",
	// A bearer token is the authority, and carries its own tenant.
	"AcceptInvitation": "bearer token", "Authenticate": "bearer token", "CompleteLogin": "bearer token",
	"Logout": "bearer token", "ResetPassword": "bearer token", "CompleteOnboarding": "bearer token",
	"BeginPasskeySignIn": "tenant named", "FinishPasskeySignIn": "bearer token", "BeginPasskeyLogin": "bearer token",
	"CompletePasskeyLogin": "bearer token",
	// The actor's own record, whatever the arguments.
	"ChangePassword": "the actor's own", "BeginPasskeyRegistration": "the actor's own", "FinishPasskeyRegistration": "the actor's own",
	// No tenant data.
	"Catalog": "no tenant data", "PasswordPolicy": "no tenant data",
	// The host's wiring of services, not a request.
	"HandleApproved": "configuration",
}

// victim is tenant A's records, which tenant B tries to reach.
type victim struct {
	op   *accessctl.Operator
	user *enduser.EndUser
	dev  *scadevice.Device
	res  string // a tax residence id
	apr  string // a four-eyes request's id
	rev  string // an access review's id
}

// testIsolation: X8, E11, S9: every method of the three services, called
// by tenant B's most powerful actor with tenant A's ids, answers as if they
// did not exist and changes nothing of A's; what B lists or reads never
// shows A's records. The methods are taken from the services' method sets,
// so a new method is tried as soon as it exists: one whose arguments this
// test cannot build fails it.
func testIsolation(t *testing.T, newStores func(*testing.T) Stores) {
	e := newRaceEnv(t, newStores) // tenant A: "acme"
	_, err := e.ops[0].Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "beta", Name: "Beta", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "boss", Email: "boss@beta.test", FirstName: "B", LastName: "B",
			Password: "Tangerine-Kite-2048", PasswordConfirmation: "Tangerine-Kite-2048"}})
	require.NoError(t, err)
	v := seedVictim(t, e)
	before := snapshot(t, e, v)
	b := accessctl.NewContext(context.Background(), accessctl.SystemActor("beta", "intruder"))
	secrets := []string{string(v.op.ID), string(v.user.ID), string(v.dev.ID), v.res, v.op.Email, v.user.Email}
	// Tenant B's identity provider, with a SCIM token of its own (I3).
	on := true
	_, err = e.ops[0].ConfigureTenant(b, accessctl.TenantSettings{Version: 1,
		SSO: &accessctl.SSOConfig{Enabled: on, GroupRoles: map[string][]accessctl.RoleName{"staff": {accessctl.RoleReadOnly}}}})
	require.NoError(t, err)
	token, _, err := e.ops[0].IssueSCIMToken(b, "intruder's idp", 0)
	require.NoError(t, err)
	bIdP, err := e.ops[0].AuthenticateSCIM(context.Background(), token)
	require.NoError(t, err)

	tried := 0
	for _, call := range []struct {
		ctx context.Context
		svc any
	}{{b, e.ops[1]}, {b, e.users[1]}, {b, e.devices[1]}, {accessctl.NewContext(context.Background(), bIdP), e.ops[1]}} {
		svc, b := call.svc, call.ctx
		sv := reflect.ValueOf(svc)
		st := sv.Type()
		for i := range st.NumMethod() {
			m := st.Method(i)
			if _, skip := notActed[m.Name]; skip {
				continue
			}
			args := buildArgs(t, m, b, v)
			out := sv.Method(i).Call(args)
			tried++
			var callErr error
			if last := out[len(out)-1]; last.Type() == reflect.TypeFor[error]() && !last.IsNil() {
				callErr = last.Interface().(error)
			}
			if callErr != nil {
				assert.True(t, typed(callErr), "%s.%s: untyped error %v", st.Elem().Name(), m.Name, callErr)
				continue
			}
			raw, err := json.Marshal(valuesOf(out))
			require.NoError(t, err)
			for _, s := range secrets {
				assert.NotContains(t, string(raw), s, "%s.%s shows tenant A's record to tenant B", st.Elem().Name(), m.Name)
			}
		}
	}
	assert.Greater(t, tried, 50, "every method was tried")
	assert.Equal(t, before, snapshot(t, e, v), "tenant A is unchanged")
}

func seedVictim(t *testing.T, e *raceEnv) victim {
	t.Helper()
	op := e.operator("victim", accessctl.RoleManager)
	u, err := e.users[0].Create(e.sys, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Ada", LastName: "Victim", Email: "ada.victim@example.com"})
	require.NoError(t, err)
	u, err = e.users[0].AddTaxResidence(e.sys, u.ID, u.Version, enduser.TaxResidence{Country: "FR", TIN: "123"})
	require.NoError(t, err)
	own := accessctl.NewContext(context.Background(), accessctl.EndUserActor(raceTenant, string(u.ID)))
	d, err := e.devices[0].Enrol(own, u.ID, scadevice.Enrolment{Kind: scadevice.KindMobile, Tag: "phone"})
	require.NoError(t, err)
	d, err = e.devices[0].SetPasscode(own, d.ID, d.Version)
	require.NoError(t, err)
	now := e.clock.Now()
	apr := &accessctl.Approval{ID: "approval-of-a", Tenant: raceTenant, Action: accessctl.ApproveGrantAdministrator, TargetType: accessctl.TargetOperator,
		TargetID: string(op.ID), Params: map[string]string{"version": "1"}, Reason: "A's own request", RequestedBy: op.ID,
		Status: accessctl.ApprovalPending, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	entry := func(typ, id string) backoffice.AuditEntry {
		return backoffice.AuditEntry{ID: "entry-" + id, Tenant: raceTenant, Actor: backoffice.ActorRef{Kind: backoffice.ActorSystem, ID: "system:seed"},
			Action: "seed", TargetType: typ, TargetID: id, At: now}
	}
	require.NoError(t, e.st.Approvals.CreateApproval(context.Background(), apr, entry(accessctl.TargetApproval, apr.ID)))
	rev := &accessctl.Review{ID: "review-of-a", Tenant: raceTenant, Name: "A's review", CreatedAt: now, DueAt: now.Add(time.Hour),
		Lines: []accessctl.ReviewLine{{Operator: op.ID, Name: "victim", Email: op.Email, Status: op.Status, Roles: op.Roles}}}
	require.NoError(t, e.st.Reviews.CreateReview(context.Background(), rev, entry(accessctl.TargetReview, rev.ID)))
	return victim{op: op, user: u, dev: d, res: u.TaxResidences[0].ID, apr: apr.ID, rev: rev.ID}
}

// snapshot is what tenant A's records are.
func snapshot(t *testing.T, e *raceEnv, v victim) []any {
	t.Helper()
	op, err := e.st.Operators.Operator(context.Background(), raceTenant, v.op.ID)
	require.NoError(t, err)
	u, err := e.st.EndUsers.EndUser(context.Background(), raceTenant, v.user.ID)
	require.NoError(t, err)
	d, err := e.st.Devices.Device(context.Background(), raceTenant, v.dev.ID)
	require.NoError(t, err)
	var entries int
	for _, target := range []struct{ typ, id string }{{accessctl.TargetOperator, string(v.op.ID)}, {enduser.TargetEndUser, string(v.user.ID)},
		{scadevice.TargetDevice, string(v.dev.ID)}, {accessctl.TargetTenant, string(raceTenant)}} {
		es, err := e.st.Audit.AuditEntries(context.Background(), raceTenant, accessctl.AuditQuery{TargetType: target.typ, TargetID: target.id})
		require.NoError(t, err)
		entries += len(es)
	}
	apr, err := e.st.Approvals.Approval(context.Background(), raceTenant, v.apr)
	require.NoError(t, err)
	rev, err := e.st.Reviews.Review(context.Background(), raceTenant, v.rev)
	require.NoError(t, err)
	head, err := e.st.Audit.AuditHead(context.Background(), raceTenant)
	require.NoError(t, err)
	return []any{op, u, d, entries, apr, rev, head}
}

// buildArgs makes the arguments of a method: tenant B's context, and
// tenant A's ids wherever a record is named.
func buildArgs(t *testing.T, m reflect.Method, ctx context.Context, v victim) []reflect.Value {
	t.Helper()
	var args []reflect.Value
	version := int64(1)
	for i := 1; i < m.Type.NumIn(); i++ { // 0 is the receiver
		pt := m.Type.In(i)
		var a any
		switch pt {
		case reflect.TypeFor[context.Context]():
			a = ctx
		case reflect.TypeFor[accessctl.OperatorID]():
			a, version = v.op.ID, v.op.Version
		case reflect.TypeFor[enduser.ID]():
			a, version = v.user.ID, v.user.Version
		case reflect.TypeFor[scadevice.ID]():
			a, version = v.dev.ID, v.dev.Version
		case reflect.TypeFor[int64]():
			a = version
		case reflect.TypeFor[bool]():
			a = true
		case reflect.TypeFor[string]():
			a = stringArg(m.Name, i, v)
		case reflect.TypeFor[backoffice.PageRequest]():
			a = backoffice.PageRequest{Limit: 500}
		case reflect.TypeFor[backoffice.Secret]():
			a = backoffice.Secret("Tangerine-Kite-2048")
		case reflect.TypeFor[accessctl.NewOperator]():
			a = accessctl.NewOperator{Username: "intruder-made", Email: "made@beta.test", FirstName: "I", LastName: "M",
				Roles: []accessctl.RoleName{accessctl.RoleReadOnly}, AllAccounts: true}
		case reflect.TypeFor[accessctl.OperatorUpdate]():
			name := "Hijacked"
			a = accessctl.OperatorUpdate{Version: v.op.Version, FirstName: &name}
		case reflect.TypeFor[accessctl.OperatorFilter](), reflect.TypeFor[enduser.Filter]():
			a = reflect.Zero(pt).Interface()
		case reflect.TypeFor[accessctl.Role]():
			a = accessctl.Role{Name: "intruder_role", Abbrev: "IR", Description: "made by B", Permissions: []accessctl.Permission{accessctl.PermEndUserRead}}
		case reflect.TypeFor[accessctl.TenantSettings]():
			name := "Beta renamed"
			a = accessctl.TenantSettings{Version: 1, Name: &name}
		case reflect.TypeFor[enduser.NewEndUser]():
			a = enduser.NewEndUser{Type: enduser.TypeBusiness, LegalName: "Made by B", Email: "made@beta.example.com"}
		case reflect.TypeFor[enduser.Update]():
			name := "Hijacked"
			a = enduser.Update{Version: v.user.Version, FirstName: &name}
		case reflect.TypeFor[enduser.TaxResidence]():
			a = enduser.TaxResidence{ID: v.res, Country: "DE"}
		case reflect.TypeFor[enduser.SearchQuery]():
			a = enduser.SearchQuery{ID: v.user.ID}
		case reflect.TypeFor[enduser.KYCStatus]():
			a = enduser.KYCValidated
		case reflect.TypeFor[scadevice.Enrolment]():
			a = scadevice.Enrolment{Kind: scadevice.KindMobile, Tag: "intruder"}
		case reflect.TypeFor[scadevice.LockReason]():
			a = scadevice.ReasonOther
		case reflect.TypeFor[*accessctl.ApprovalStatus](), reflect.TypeFor[*accessctl.Policy]():
			a = reflect.Zero(pt).Interface()
		case reflect.TypeFor[accessctl.ApprovalRequest]():
			a = accessctl.ApprovalRequest{Action: accessctl.ApproveGrantAdministrator, TargetType: accessctl.TargetOperator, TargetID: string(v.op.ID),
				Params: map[string]string{"version": "1"}, Reason: "B reaching for A"}
		case reflect.TypeFor[backoffice.Action]():
			a = accessctl.ApproveGrantAdministrator
		case reflect.TypeFor[accessctl.Hold]():
			a = accessctl.Hold{Action: accessctl.ApproveGrantAdministrator, TargetType: accessctl.TargetOperator, TargetID: string(v.op.ID)}
		case reflect.TypeFor[accessctl.ReviewDecision]():
			a = accessctl.ReviewRevoked
		case reflect.TypeFor[accessctl.RoleName]():
			a = accessctl.RoleAdministrator
		case reflect.TypeFor[time.Time]():
			a = time.Now().Add(time.Hour)
		case reflect.TypeFor[time.Duration]():
			a = time.Hour
		case reflect.TypeFor[io.Writer]():
			a = &bytes.Buffer{}
		case reflect.TypeFor[accessctl.IdPUser]():
			a = accessctl.IdPUser{UserName: v.op.Username, Email: "made@beta.test", FirstName: "I", LastName: "M", ExternalID: "victim-key", Active: false}
		case reflect.TypeFor[[]string]():
			a = []string{"staff"}
		default:
			t.Fatalf("%s: no argument of type %s; teach this test how to aim it at tenant A", m.Name, pt)
		}
		args = append(args, reflect.ValueOf(a).Convert(pt))
	}
	return args
}

// stringArg aims a plain string parameter at tenant A.
func stringArg(method string, i int, v victim) string {
	switch {
	case method == "AuditLog" && i == 2:
		return accessctl.TargetOperator
	case method == "AuditLog":
		return string(v.op.ID)
	case method == "RemoveTaxResidence":
		return v.res
	case (method == "Approval" || method == "Approve" || method == "Reject") && i == 2:
		return v.apr
	case (method == "Review" || method == "DecideReview" || method == "WriteReviewCSV") && i == 2:
		return v.rev
	case method == "Gate" && i == 3:
		return accessctl.TargetOperator
	case method == "Gate":
		return string(v.op.ID)
	}
	return "a note"
}

func valuesOf(out []reflect.Value) []any {
	var vs []any
	for _, o := range out[:len(out)-1] {
		vs = append(vs, o.Interface())
	}
	if last := out[len(out)-1]; last.Type() != reflect.TypeFor[error]() {
		vs = append(vs, last.Interface())
	}
	return vs
}

// typed reports whether err is one of the module's kinds.
func typed(err error) bool {
	for _, k := range []error{backoffice.ErrNotFound, backoffice.ErrInvalid, backoffice.ErrConflict, backoffice.ErrForbidden,
		backoffice.ErrUnauthenticated, backoffice.ErrFailedPrecondition} {
		if errors.Is(err, k) {
			return true
		}
	}
	return strings.Contains(err.Error(), "unavailable") && errors.Is(err, backoffice.ErrUnavailable)
}
