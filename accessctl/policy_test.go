package accessctl_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

// pciKit is a kit whose tenants run under PCIDSS4, changed by edit.
func pciKit(edit func(p *accessctl.Policy)) *memorytest.Kit {
	p := accessctl.PCIDSS4()
	if edit != nil {
		edit(&p)
	}
	return memorytest.New(&memorytest.Options{Policy: p})
}

// P1: a tenant takes a policy of its own, recorded field by field, and a
// bad one is refused with its fields named.
func TestTenantPolicy(t *testing.T) {
	k := memorytest.New(nil)
	sys := k.System()
	p, err := k.Ops.Policy(sys)
	require.NoError(t, err)
	assert.Zero(t, p.IdleTimeout, "no policy: the service's defaults")
	tn, err := k.Ops.Tenant(sys)
	require.NoError(t, err)
	bad := accessctl.PCIDSS4()
	bad.IdleTimeout, bad.PasswordHistory, bad.MFA = -time.Minute, 99, "sometimes"
	_, err = k.Ops.ConfigureTenant(sys, accessctl.TenantSettings{Version: tn.Version, Policy: &bad})
	var be *backoffice.Error
	require.ErrorAs(t, err, &be)
	assert.ElementsMatch(t, []string{"policy.idle_timeout", "policy.password_history", "policy.mfa"}, fieldsOf(be))

	pci := accessctl.PCIDSS4()
	tn, err = k.Ops.ConfigureTenant(sys, accessctl.TenantSettings{Version: tn.Version, Policy: &pci})
	require.NoError(t, err)
	require.NotNil(t, tn.Policy)
	p, err = k.Ops.Policy(sys)
	require.NoError(t, err)
	assert.Equal(t, accessctl.PCIDSS4(), p)
	hist, err := k.Ops.AuditLog(sys, accessctl.TargetTenant, string(k.Tenant), backoffice.PageRequest{Limit: 1})
	require.NoError(t, err)
	assert.Contains(t, hist.Items[0].Changes, backoffice.Change{Field: "policy.idle_timeout", Before: "0", After: "900000000000"})

	_, err = accessctl.NewService(accessctl.Config{Store: k.Store, Policy: bad})
	require.ErrorIs(t, err, backoffice.ErrInvalid, "a host's bad default policy is refused at start")
}

// P5: a login's source is what the host gave, when it is an address-like
// text; anything else is recorded as "invalid".
func TestClientAddr(t *testing.T) {
	ctx := accessctl.WithClientAddr(t.Context(), "2001:db8::1")
	assert.Equal(t, "2001:db8::1", accessctl.ClientAddr(ctx))
	for _, bad := range []string{"10.0.0.1\x00", "\xff", strings.Repeat("9", 101), "a\nb"} {
		assert.Equal(t, "invalid", accessctl.ClientAddr(accessctl.WithClientAddr(t.Context(), bad)), "%q", bad)
	}
	assert.Empty(t, accessctl.ClientAddr(t.Context()))
}

func fieldsOf(e *backoffice.Error) []string {
	var out []string
	for _, v := range e.Fields {
		out = append(out, v.Field)
	}
	return out
}

// anyApproverAge lets an operator made a moment ago decide requests: for
// the tests of what four-eyes holds, not of who may decide (F4, in
// foureyes_test.go).
func anyApproverAge(p *accessctl.Policy) { p.ApproverMinAge = 0 }
