package jsonapi

import (
	"net/http"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
)

// filterOf reads the list filters from the query string.
func filterOf(r *http.Request) (enduser.Filter, error) {
	var f enduser.Filter
	q := queryOf(r)
	if s := q.Get("type"); s != "" {
		t := enduser.Type(s)
		f.Type = &t
	}
	if s := q.Get("status"); s != "" {
		st := enduser.Status(s)
		f.Status = &st
	}
	var err error
	if f.CreatedFrom, err = timeParam(r, "created_from"); err != nil {
		return f, err
	}
	f.CreatedTo, err = timeParam(r, "created_to")
	return f, err
}

// registerEndUsers wires the search toolbar, the All Users list, the
// profile board and onboarding.
func (a *API) registerEndUsers() {
	users := func(r *http.Request, p backoffice.Page[*enduser.EndUser], err error) (int, any, error) {
		return ok(endUsers(p), err)
	}
	a.handle("GET /v1/endusers/search", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		if err := a.allow(r.Context(), check{searchPerActor, actorKey(r)}); err != nil {
			return 0, nil, err
		}
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		q := queryOf(r)
		res, err := a.users.Search(r.Context(), enduser.SearchQuery{ID: enduser.ID(q.Get("id")), Tag: q.Get("tag"), Email: q.Get("email"),
			Name: q.Get("name")}, p)
		return users(r, res, err)
	}))
	a.handle("GET /v1/endusers", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		// The unfiltered list walks the end users as a search does: one
		// limit for both, per operator, whichever surface (B3).
		if err := a.allow(r.Context(), check{searchPerActor, actorKey(r)}); err != nil {
			return 0, nil, err
		}
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		f, err := filterOf(r)
		if err != nil {
			return 0, nil, err
		}
		res, err := a.users.List(r.Context(), f, p)
		return users(r, res, err)
	}))
	a.handle("GET /v1/endusers/count", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		f, err := filterOf(r)
		if err != nil {
			return 0, nil, err
		}
		n, err := a.users.Count(r.Context(), f)
		return ok(countView{Total: n}, err)
	}))
	a.handle("POST /v1/endusers", a.authed(withBody(func(r *http.Request, b endUserBody) (int, any, error) {
		in, err := b.input()
		if err != nil {
			return 0, nil, err
		}
		u, err := a.users.Create(r.Context(), in)
		if err != nil {
			return 0, nil, err
		}
		return created(endUser{u}, nil)
	})))
	a.handle("GET /v1/endusers/{id}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return eu(a.users.Get(r.Context(), userID(r)))
	}))
	a.handle("PATCH /v1/endusers/{id}", a.authed(withBody(func(r *http.Request, b endUserPatch) (int, any, error) {
		up := enduser.Update{Version: b.Version, Tag: b.Tag, FirstName: b.FirstName, LastName: b.LastName, LegalName: b.LegalName,
			Email: b.Email, Phone: b.Phone, Address: b.Address, Parent: b.Parent}
		if b.BirthDate != nil {
			d, err := parseDate(*b.BirthDate, "birth_date")
			if err != nil {
				return 0, nil, err
			}
			up.BirthDate = &d
		}
		return eu(a.users.Update(r.Context(), userID(r), up))
	})))
	a.handle("POST /v1/endusers/{id}/tax-residences", a.authed(withBody(func(r *http.Request, b residenceBody) (int, any, error) {
		return eu(a.users.AddTaxResidence(r.Context(), userID(r), b.Version, enduser.TaxResidence{Country: b.Country, TIN: b.TIN}))
	})))
	a.handle("PUT /v1/endusers/{id}/tax-residences/{rid}", a.authed(withBody(func(r *http.Request, b residenceBody) (int, any, error) {
		return eu(a.users.UpdateTaxResidence(r.Context(), userID(r), b.Version, enduser.TaxResidence{ID: r.PathValue("rid"), Country: b.Country, TIN: b.TIN}))
	})))
	a.handle("DELETE /v1/endusers/{id}/tax-residences/{rid}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		v, err := versionParam(r)
		if err != nil {
			return 0, nil, err
		}
		return eu(a.users.RemoveTaxResidence(r.Context(), userID(r), v, r.PathValue("rid")))
	}))
	a.handle("POST /v1/endusers/{id}/deactivate", a.authed(withBody(func(r *http.Request, b versionBody) (int, any, error) {
		return eu(a.users.Deactivate(r.Context(), userID(r), b.Version))
	})))
	a.handle("POST /v1/endusers/{id}/forgot-password", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		to, err := a.users.SendForgotPassword(r.Context(), userID(r))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, sentView{SentTo: to}, nil
	}))
	a.handle("GET /v1/endusers/{id}/children", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		res, err := a.users.Children(r.Context(), userID(r), p)
		return users(r, res, err)
	}))
	a.handle("GET /v1/endusers/{id}/tree", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		n, err := a.users.Tree(r.Context(), userID(r))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, nodeJSON(n), nil
	}))
	a.handle("POST /v1/endusers/{id}/kyc/review", a.authed(withBody(func(r *http.Request, b versionBody) (int, any, error) {
		return eu(a.users.RequestKYCReview(r.Context(), userID(r), b.Version))
	})))
	a.handle("POST /v1/endusers/{id}/kyc/outcome", a.authed(withBody(func(r *http.Request, b kycBody) (int, any, error) {
		return eu(a.users.RecordKYCOutcome(r.Context(), userID(r), b.Version, b.Outcome, b.Note))
	})))
	a.handle("PUT /v1/endusers/{id}/wallet", a.authed(withBody(func(r *http.Request, b walletBody) (int, any, error) {
		// The example's stand-in for a ledger: an operator who may edit the
		// user sets its balance.
		if _, err := accessctl.Require(r.Context(), accessctl.PermEndUserEdit); err != nil {
			return 0, nil, err
		}
		if _, err := a.users.Get(r.Context(), userID(r)); err != nil {
			return 0, nil, err
		}
		if a.wallets == nil {
			return 0, nil, backoffice.NewError(backoffice.ErrNotFound, "adminapi: wallet", "this server keeps no wallets; the host's ledger does")
		}
		if len(b.Currency) != 3 {
			return 0, nil, backoffice.NewError(backoffice.ErrInvalid, "adminapi: wallet", "currency must be an ISO 4217 code",
				backoffice.FieldViolation{Field: "currency", Reason: "must be 3 letters"})
		}
		return ok(a.wallets.Set(userID(r), b.Currency, b.Amount), nil)
	})))
	a.handle("GET /v1/onboardings", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		completed, err := boolParam(r, "completed")
		if err != nil {
			return 0, nil, err
		}
		res, err := a.users.Onboardings(r.Context(), completed, p)
		return ok(pageJSON(res, onboardingJSON), err)
	}))
}
