package jsonapi

import (
	"net/http"

	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/scadevice"
)

// registerInternal wires the host's own back end: SSO assertions it
// validated, sign-ups and the customer app's device calls.
func (a *API) registerInternal() {
	// The host's own back end: SSO assertions it validated, sign-ups and
	// the customer app's device calls.
	a.handle("POST /v1/internal/sso/login", a.internalOnly("sso", withBody(func(r *http.Request, b ssoBody) (int, any, error) {
		actor, _ := accessctl.ActorFrom(r.Context())
		return login(a.ops.ProvisionSSO(r.Context(), actor.Tenant(), accessctl.Assertion{Subject: b.Subject, Email: b.Email, FirstName: b.FirstName,
			LastName: b.LastName, Groups: b.Groups}))
	})))
	a.handle("POST /v1/internal/onboardings", a.internalOnly("signup", withBody(func(r *http.Request, b endUserBody) (int, any, error) {
		in, err := b.input()
		if err != nil {
			return 0, nil, err
		}
		o, err := a.users.StartOnboarding(r.Context(), in)
		if err != nil {
			return 0, nil, err
		}
		return created(onboardingJSON(o), nil)
	})))
	a.handle("POST /v1/internal/onboardings/complete", a.internalOnly("signup", withBody(func(r *http.Request, b tokenBody) (int, any, error) {
		return eu(a.users.CompleteOnboarding(r.Context(), b.Token))
	})))
	a.handle("POST /v1/internal/endusers/{id}/devices", a.internalOnly("customer-app", withBody(func(r *http.Request, b enrolBody) (int, any, error) {
		d, err := a.devices.Enrol(r.Context(), userID(r), scadevice.Enrolment{Kind: b.Kind, Tag: b.Tag, Info: b.Info})
		if err != nil {
			return 0, nil, err
		}
		return created(deviceJSON(d), nil)
	})))
	a.handle("POST /v1/internal/devices/{id}/passcode", a.internalOnly("customer-app", withBody(func(r *http.Request, b versionBody) (int, any, error) {
		return dev(a.devices.SetPasscode(r.Context(), devID(r), b.Version))
	})))
}
