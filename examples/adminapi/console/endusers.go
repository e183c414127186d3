package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/enduser"
)

// userFields are the identity and contact fields the profile form and
// the new-user form edit, by their form names.
var userFields = []string{"first_name", "last_name", "legal_name", "email", "phone", "tag"}

// formValues reads userFields from the form, trimmed.
func formValues(r *http.Request) map[string]string {
	v := map[string]string{}
	for _, f := range userFields {
		v[f] = strings.TrimSpace(r.PostFormValue(f))
	}
	return v
}

// valuesOf are a user's fields as the forms show them.
func valuesOf(u *enduser.EndUser) map[string]string {
	return map[string]string{"first_name": u.FirstName, "last_name": u.LastName, "legal_name": u.LegalName, "email": u.Email,
		"phone": u.Phone, "tag": u.Tag}
}

// newUserData is the create-a-user form.
type newUserData struct {
	Type   string
	Types  []enduser.Type
	Values map[string]string
	Fields map[string]string
}

func (c *Console) newUserPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "newuser", "Create a user", newUserData{Types: enduser.Types(), Values: map[string]string{},
		Fields: map[string]string{}, Type: string(enduser.TypePhysicalPerson)}, "")
}

func (c *Console) createUser(w http.ResponseWriter, r *http.Request) {
	d := newUserData{Types: enduser.Types(), Type: r.PostFormValue("type"), Values: formValues(r), Fields: map[string]string{}}
	v := d.Values
	u, err := c.cfg.Users.Create(r.Context(), enduser.NewEndUser{Type: enduser.Type(d.Type), FirstName: v["first_name"], LastName: v["last_name"],
		LegalName: v["legal_name"], Email: v["email"], Phone: v["phone"], Tag: v["tag"]})
	if err != nil {
		if msg, ok := fieldErrors(err, d.Fields); ok {
			c.render(w, r, http.StatusUnprocessableEntity, "newuser", "Create a user", d, msg)
			return
		}
		c.fail(w, r, err)
		return
	}
	c.redirect(w, r, "/users/"+url.PathEscape(string(u.ID)))
}

// userAction runs a form of the profile board: the profile's edit, a KYC
// step, a tax residence added or removed, the forgot-password email, the
// deactivation. A refusal shows the board again with what was typed.
func (c *Console) userAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := enduser.ID(r.PathValue("id"))
	version, err := formVersion(r, "console: end user", "the user's")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	tab, form := "profile", boardForm{Values: formValues(r)}
	switch r.PathValue("action") {
	case "profile":
		v := form.Values
		_, err = c.cfg.Users.Update(ctx, id, enduser.Update{Version: version, FirstName: ptr(v["first_name"]), LastName: ptr(v["last_name"]),
			LegalName: ptr(v["legal_name"]), Email: ptr(v["email"]), Phone: ptr(v["phone"]), Tag: ptr(v["tag"])})
	case "kyc_request":
		tab = "kyc"
		_, err = c.cfg.Users.RequestKYCReview(ctx, id, version)
	case "kyc_outcome":
		tab = "kyc"
		form.Values["note"] = r.PostFormValue("note")
		_, err = c.cfg.Users.RecordKYCOutcome(ctx, id, version, enduser.KYCStatus(r.PostFormValue("outcome")), r.PostFormValue("note"))
	case "tax_add":
		tab = "tax"
		form.Values["country"], form.Values["tin"] = strings.TrimSpace(r.PostFormValue("country")), strings.TrimSpace(r.PostFormValue("tin"))
		_, err = c.cfg.Users.AddTaxResidence(ctx, id, version, enduser.TaxResidence{Country: strings.ToUpper(form.Values["country"]),
			TIN: form.Values["tin"]})
	case "tax_remove":
		tab = "tax"
		_, err = c.cfg.Users.RemoveTaxResidence(ctx, id, version, r.PostFormValue("residence"))
	case "forgot_password":
		_, err = c.cfg.Users.SendForgotPassword(ctx, id)
	case "deactivate":
		_, err = c.cfg.Users.Deactivate(ctx, id, version)
	default:
		err = backoffice.NewError(backoffice.ErrNotFound, "console: end user", "no such action")
	}
	if c.askApproval(w, r, err, backoffice.ActionEndUserDeactivate, enduser.TargetEndUser, string(id),
		map[string]string{"version": r.PostFormValue("version")}, "/users/"+url.PathEscape(string(id))) {
		return
	}
	if err != nil {
		if !c.refused(w, r, id, tab, err, form) {
			c.fail(w, r, err)
		}
		return
	}
	c.redirect(w, r, "/users/"+url.PathEscape(string(id))+"?tab="+tab)
}

func ptr(s string) *string { return &s }
