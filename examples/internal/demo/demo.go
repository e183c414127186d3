// Package demo fills a tenant with demo data for the examples: an
// operator of every role sharing one password printed once, end users of
// every type and status, devices in every state.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/examples/adminapi/jsonapi"
	"github.com/backoffice-go/backoffice/scadevice"
)

var demoFirst = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis",
	"Radia", "Niklaus", "Hedy", "Tim", "Katherine", "Linus", "Sophie", "John", "Lynn", "Vint"}
var demoLast = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie",
	"Perlman", "Wirth", "Lamarr", "Berners-Lee", "Johnson", "Torvalds", "Wilson", "McCarthy", "Conway", "Cerf"}

// Services are what the demo data goes through.
type Services struct {
	Ops     *accessctl.Service
	Users   *enduser.Service
	Devices *scadevice.Service
	Wallets *jsonapi.Wallets
}

// Options say which tenant to fill.
type Options struct {
	Tenant backoffice.TenantID
	Name   string
	// Domain is the operators' and customers' email domain.
	Domain string
	// EndUsers is how many end users to make; 0 makes 300.
	EndUsers int
}

// Load makes the tenant when it does not exist yet, with its first
// Administrator demo_admin, and fills it with end users of every type
// and status, devices in every state, and an operator of every role of
// the preset, whose one password (random, printed once on out) lets a
// newcomer try every call. It returns that password.
func Load(ctx context.Context, a Services, o Options, out io.Writer) (backoffice.Secret, error) {
	sys := accessctl.NewContext(ctx, accessctl.SystemActor(o.Tenant, "demo"))
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	pw := backoffice.Secret("Demo-" + base64.RawURLEncoding.EncodeToString(b[:]) + "-9")
	if _, err := a.Ops.Tenant(sys); err != nil {
		_, err := a.Ops.Bootstrap(ctx, accessctl.BootstrapInput{Tenant: o.Tenant, Name: o.Name, Preset: accessctl.PresetDashboard,
			Admin: accessctl.NewOperator{Username: "demo_admin", Email: "demo_admin@" + o.Domain + "", FirstName: "Demo", LastName: "Admin",
				Password: pw, PasswordConfirmation: pw}})
		if err != nil {
			return "", err
		}
	}
	roles, err := a.Ops.Roles(sys)
	if err != nil {
		return "", err
	}
	for _, r := range roles {
		name := "demo_" + string(r.Name)
		_, err := a.Ops.CreateOperator(sys, accessctl.NewOperator{Username: name, Email: name + "@" + o.Domain, FirstName: "Demo",
			LastName: r.Abbrev, Roles: []accessctl.RoleName{r.Name}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
		if err != nil {
			return "", err
		}
	}
	fmt.Fprintf(out, "demo operators demo_<role> (one per role) share the password %s\n", string(pw))

	var parent enduser.ID
	n := o.EndUsers
	if n == 0 {
		n = 300
	}
	for i := range n {
		typ := enduser.Types()[i%4]
		in := enduser.NewEndUser{Type: typ, Tag: fmt.Sprintf("demo-%03d", i), Email: fmt.Sprintf("customer%03d@%s", i, o.Domain),
			Phone: fmt.Sprintf("+3361234%04d", i), Address: enduser.Address{City: "Paris", Country: "FR"}}
		if typ == enduser.TypePhysicalPerson {
			in.FirstName, in.LastName = demoFirst[i%len(demoFirst)], demoLast[(i/3)%len(demoLast)]
			in.BirthDate = time.Date(1950+i%50, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)
		} else {
			in.LegalName = fmt.Sprintf("%s %s %03d", demoLast[i%len(demoLast)], map[enduser.Type]string{enduser.TypeBusiness: "Ltd",
				enduser.TypeNGO: "Foundation", enduser.TypeGovernment: "Agency"}[typ], i)
		}
		if i%25 == 1 && parent != "" {
			in.Parent = parent
		}
		if i%10 == 3 {
			in.TaxResidences = []enduser.TaxResidence{{Country: "US", TIN: fmt.Sprintf("12-34%05d", i)}}
		}
		u, err := a.Users.Create(sys, in)
		if err != nil {
			return "", err
		}
		if i%25 == 0 {
			parent = u.ID
		}
		switch i % 3 { // pending, validated, canceled
		case 1, 2:
			if u, err = a.Users.RequestKYCReview(sys, u.ID, u.Version); err != nil {
				return "", err
			}
			if u, err = a.Users.RecordKYCOutcome(sys, u.ID, u.Version, enduser.KYCValidated, "demo"); err != nil {
				return "", err
			}
			if i%3 == 2 {
				if u, err = a.Users.Deactivate(sys, u.ID, u.Version); err != nil {
					return "", err
				}
			} else if i%6 == 1 {
				a.Wallets.Set(u.ID, "EUR", int64(100*i))
			}
		}
		if typ == enduser.TypePhysicalPerson && u.Status != enduser.StatusCanceled {
			if err := devices(ctx, a, o.Tenant, u, i); err != nil {
				return "", err
			}
		}
	}
	fmt.Fprintf(out, "demo data of %s: %d end users of every type and status, with devices in every state\n", o.Tenant, n)
	return pw, nil
}

func devices(ctx context.Context, a Services, tenant backoffice.TenantID, u *enduser.EndUser, i int) error {
	self := accessctl.NewContext(ctx, accessctl.EndUserActor(tenant, string(u.ID)))
	sys := accessctl.NewContext(ctx, accessctl.SystemActor(tenant, "demo"))
	kind := scadevice.KindMobile
	if (i/4)%2 == 0 {
		kind = scadevice.KindWeb
	}
	d, err := a.Devices.Enrol(self, u.ID, scadevice.Enrolment{Kind: kind, Tag: "demo", Info: "Demo device"})
	if err != nil {
		return err
	}
	switch (i / 4) % 4 { // physical persons are every fourth user: i/4 walks the states
	case 0: // passcode missing
		return nil
	case 1: // active
		_, err = a.Devices.SetPasscode(self, d.ID, d.Version)
	case 2: // locked
		if d, err = a.Devices.SetPasscode(self, d.ID, d.Version); err == nil {
			_, err = a.Devices.Lock(sys, d.ID, d.Version, scadevice.ReasonSuspectedFraud, "demo lock")
		}
	case 3: // deleted
		_, err = a.Devices.Delete(sys, d.ID, d.Version)
	}
	return err
}

// SCIM issues a SCIM token for the demo tenant and prints it with the
// base URL, so that a SCIM client (or curl) can provision operators; the
// demo's mapping gives the group "backoffice-readers" the Read-only role.
func SCIM(ctx context.Context, ops *accessctl.Service, tenant backoffice.TenantID, scimURL string, out io.Writer) error {
	sys := accessctl.NewContext(ctx, accessctl.SystemActor(tenant, "demo"))
	t, err := ops.Tenant(sys)
	if err != nil {
		return err
	}
	if len(t.SSO.GroupRoles) == 0 {
		// The demo also lets operators sign in with a passkey alone, on
		// the service's relying party (localhost for a loopback address).
		sso := t.SSO
		sso.GroupRoles = map[string][]accessctl.RoleName{"backoffice-readers": {accessctl.RoleReadOnly}}
		if _, err := ops.ConfigureTenant(sys, accessctl.TenantSettings{Version: t.Version, SSO: &sso,
			WebAuthn: &accessctl.WebAuthnConfig{Passwordless: true}}); err != nil {
			return err
		}
	}
	token, _, err := ops.IssueSCIMToken(sys, "demo", 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "scim url: %s\nscim token: %s\n", scimURL, string(token))
	return nil
}
