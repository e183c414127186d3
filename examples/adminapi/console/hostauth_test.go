package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/examples/adminapi/console"
	"github.com/backoffice-go/backoffice/scadevice"
)

// M3: a host that authenticates its staff itself hands the console the
// operator it resolved (here from a header its proxy sets); the library
// still authorizes every call and audits with that operator; an operator
// not active is refused; without the host's say-so the browser goes to
// the host's login.
func TestHostAuthentication(t *testing.T) {
	e := newEnv(t) // reader (Read-only), manager, chief (Administrator); Ada with a device
	c, err := console.New(console.Config{Ops: e.k.Ops, Users: e.k.Users, Devices: e.k.Devices, Tenant: e.k.Tenant, Now: e.k.Clock.Now,
		HostLogin: "/sign-in", HostAuth: func(r *http.Request) (accessctl.OperatorID, bool) {
			id := r.Header.Get("X-Staff-Operator") // set by the host's proxy, never by the browser
			return accessctl.OperatorID(id), id != ""
		}})
	require.NoError(t, err)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	as := func(op *accessctl.Operator) *http.Client {
		cl := &http.Client{Transport: headerTransport{op: op}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		return cl
	}
	get := func(cl *http.Client, path string) (*http.Response, string) {
		t.Helper()
		resp, err := cl.Get(srv.URL + path)
		require.NoError(t, err)
		return resp, read(t, resp)
	}

	resp, body := get(as(e.ops["manager"]), "/users")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "<span>manager</span>", "the host's operator")
	resp, _ = get(as(nil), "/users")
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/sign-in", resp.Header.Get("Location"), "the host's login")
	resp, _ = get(as(nil), "/login")
	assert.Equal(t, "/sign-in", resp.Header.Get("Location"), "no login of the console's own")

	// Authorized as that operator: Read-only sees no Dashboard Users.
	resp, _ = get(as(e.ops["reader"]), "/operators")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	// Audited as that operator.
	d := e.device
	resp, err = as(e.ops["manager"]).PostForm(srv.URL+"/devices/"+string(d.ID)+"/lock",
		url.Values{"version": {"2"}, "reason": {string(scadevice.ReasonSuspectedFraud)}, "message": {"host-authenticated"}})
	require.NoError(t, err)
	read(t, resp)
	hist, err := e.k.Store.AuditEntries(context.Background(), e.k.Tenant, accessctl.AuditQuery{TargetType: scadevice.TargetDevice, TargetID: string(d.ID)})
	require.NoError(t, err)
	require.NotEmpty(t, hist)
	assert.Equal(t, string(e.ops["manager"].ID), hist[0].Actor.ID)

	// Not active: refused, whatever the host says.
	o, err := e.k.Ops.Operator(e.k.System(), e.ops["reader"].ID)
	require.NoError(t, err)
	_, err = e.k.Ops.DeactivateOperator(e.k.System(), o.ID, o.Version)
	require.NoError(t, err)
	resp, _ = get(as(e.ops["reader"]), "/users")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = get(as(&accessctl.Operator{ID: "made-up"}), "/users")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// headerTransport is the host's proxy: it names the operator it
// authenticated in a header.
type headerTransport struct{ op *accessctl.Operator }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if h.op != nil {
		r.Header.Set("X-Staff-Operator", string(h.op.ID))
	}
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return http.DefaultTransport.RoundTrip(r)
}
