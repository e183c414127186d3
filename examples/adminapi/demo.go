package main

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
	"github.com/backoffice-go/backoffice/scadevice"
)

var demoFirst = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis",
	"Radia", "Niklaus", "Hedy", "Tim", "Katherine", "Linus", "Sophie", "John", "Lynn", "Vint"}
var demoLast = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie",
	"Perlman", "Wirth", "Lamarr", "Berners-Lee", "Johnson", "Torvalds", "Wilson", "McCarthy", "Conway", "Cerf"}

// loadDemo fills the tenant with a few hundred end users of every type and
// status, devices in every state, and an operator of every role of the
// preset, whose one password (random, printed once) lets a newcomer try
// every call.
func loadDemo(ctx context.Context, a *backend, out io.Writer) error {
	sys := accessctl.NewContext(ctx, accessctl.SystemActor(a.tenant, "demo"))
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	pw := backoffice.Secret("Demo-" + base64.RawURLEncoding.EncodeToString(b[:]) + "-9")
	if _, err := a.ops.Tenant(sys); err != nil {
		_, err := a.ops.Bootstrap(ctx, accessctl.BootstrapInput{Tenant: a.tenant, Name: "Demo tenant", Preset: accessctl.PresetDashboard,
			Admin: accessctl.NewOperator{Username: "demo_admin", Email: "demo_admin@demo.example", FirstName: "Demo", LastName: "Admin",
				Password: pw, PasswordConfirmation: pw}})
		if err != nil {
			return err
		}
	}
	roles, err := a.ops.Roles(sys)
	if err != nil {
		return err
	}
	for _, r := range roles {
		name := "demo_" + string(r.Name)
		_, err := a.ops.CreateOperator(sys, accessctl.NewOperator{Username: name, Email: name + "@demo.example", FirstName: "Demo",
			LastName: r.Abbrev, Roles: []accessctl.RoleName{r.Name}, AllAccounts: true, Password: pw, PasswordConfirmation: pw})
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "demo operators demo_<role> (one per role) share the password %s\n", string(pw))

	var parent enduser.ID
	for i := range 300 {
		typ := enduser.Types()[i%4]
		in := enduser.NewEndUser{Type: typ, Tag: fmt.Sprintf("demo-%03d", i), Email: fmt.Sprintf("customer%03d@demo.example", i),
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
		u, err := a.users.Create(sys, in)
		if err != nil {
			return err
		}
		if i%25 == 0 {
			parent = u.ID
		}
		switch i % 3 { // pending, validated, canceled
		case 1, 2:
			if u, err = a.users.RequestKYCReview(sys, u.ID, u.Version); err != nil {
				return err
			}
			if u, err = a.users.RecordKYCOutcome(sys, u.ID, u.Version, enduser.KYCValidated, "demo"); err != nil {
				return err
			}
			if i%3 == 2 {
				if u, err = a.users.Deactivate(sys, u.ID, u.Version); err != nil {
					return err
				}
			} else if i%6 == 1 {
				a.wallets.Set(u.ID, "EUR", int64(100*i))
			}
		}
		if typ == enduser.TypePhysicalPerson && u.Status != enduser.StatusCanceled {
			if err := demoDevices(ctx, a, u, i); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(out, "demo data: 300 end users of every type and status, with devices in every state")
	return nil
}

func demoDevices(ctx context.Context, a *backend, u *enduser.EndUser, i int) error {
	self := accessctl.NewContext(ctx, accessctl.EndUserActor(a.tenant, string(u.ID)))
	sys := accessctl.NewContext(ctx, accessctl.SystemActor(a.tenant, "demo"))
	kind := scadevice.KindMobile
	if i%2 == 0 {
		kind = scadevice.KindWeb
	}
	d, err := a.devices.Enrol(self, u.ID, scadevice.Enrolment{Kind: kind, Tag: "demo", Info: "Demo device"})
	if err != nil {
		return err
	}
	switch i % 4 {
	case 0: // passcode missing
		return nil
	case 1: // active
		_, err = a.devices.SetPasscode(self, d.ID, d.Version)
	case 2: // locked
		if d, err = a.devices.SetPasscode(self, d.ID, d.Version); err == nil {
			_, err = a.devices.Lock(sys, d.ID, d.Version, scadevice.ReasonSuspectedFraud, "demo lock")
		}
	case 3: // deleted
		_, err = a.devices.Delete(sys, d.ID, d.Version)
	}
	return err
}

// demoSCIM issues a SCIM token for the demo tenant and prints it with the
// base URL, so that a SCIM client (or curl) can provision operators; the
// demo's mapping gives the group "backoffice-readers" the Read-only role.
func demoSCIM(ctx context.Context, a *backend, out io.Writer) error {
	sys := accessctl.NewContext(ctx, accessctl.SystemActor(a.tenant, "demo"))
	t, err := a.ops.Tenant(sys)
	if err != nil {
		return err
	}
	if len(t.SSO.GroupRoles) == 0 {
		// The demo also lets operators sign in with a passkey alone, on
		// the service's relying party (localhost for a loopback address).
		sso := t.SSO
		sso.GroupRoles = map[string][]accessctl.RoleName{"backoffice-readers": {accessctl.RoleReadOnly}}
		if _, err := a.ops.ConfigureTenant(sys, accessctl.TenantSettings{Version: t.Version, SSO: &sso,
			WebAuthn: &accessctl.WebAuthnConfig{Passwordless: true}}); err != nil {
			return err
		}
	}
	token, _, err := a.ops.IssueSCIMToken(sys, "demo", 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "scim url: %s\nscim token: %s\n", a.scimURL, string(token))
	return nil
}
