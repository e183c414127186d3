package console

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"rsc.io/qr"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
)

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04")
	},
	"day": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	// inc is n+1: the entry after the last one delivered.
	"inc": func(n int64) int64 { return n + 1 },
	// ago is a wait, rounded to the second.
	"ago": func(d time.Duration) string { return d.Round(time.Second).String() },
	"can": func(a *accessctl.Actor, p string) bool { return a != nil && a.Can(accessctl.Permission(p)) },
	// field is a form field with what was typed and the reason it was
	// refused, if it was.
	"field": func(name, label, value string, errs map[string]string) map[string]string {
		return map[string]string{"Name": name, "Label": label, "Value": value, "Error": errs[name]}
	},
	// dict builds a map of pairs, for a template's argument.
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
	"values": valuesOf,
	// action is a button of an operator's board.
	"action": func(o *accessctl.Operator, name, label, class string) map[string]any {
		return map[string]any{"Operator": o, "Name": name, "Label": label, "Class": class}
	},
}

// loginForm is what the login pages show again after a refusal.
type loginForm struct {
	// TenantField asks for the tenant, Tenant is what was typed.
	TenantField bool
	Tenant      string
	SSO         bool   // the tenant signs in with its identity provider
	OIDC        bool   // over OpenID Connect
	SAML        string // over SAML, starting at this URL
	Refused     bool   // a sign-in through the identity provider was refused
	// Passwordless offers a sign-in with a passkey alone; Passkey the
	// passkey step after the password, which PasskeyRequired makes the
	// only one.
	Passwordless, Passkey, PasskeyRequired bool
	Username                               string
	QR                                     template.URL // the enrolment's otpauth URI as a PNG data URI
	Secret                                 string       // the enrolment secret, for typing in by hand
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if c.cfg.HostAuth != nil {
		http.Redirect(w, r, cmp.Or(c.cfg.HostLogin, "/"), http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "login", "Log in", c.ssoForm(r), "")
}

// login is the password step. A refusal keeps what was typed (but the
// password) and says the one thing the library says of every refusal.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimSpace(r.PostFormValue("username"))
	again := c.ssoForm(r) // the form again, with what was typed but the password
	again.Username, again.Tenant = user, strings.TrimSpace(r.PostFormValue("tenant"))
	if c.limited(w, r, "login", user, again) {
		return
	}
	tenant, _ := c.tenant(r)
	res, err := c.cfg.Ops.Login(r.Context(), tenant, user, backoffice.Secret(r.PostFormValue("password")))
	if err != nil {
		status := http.StatusUnauthorized
		if !errors.Is(err, backoffice.ErrUnauthenticated) {
			status = http.StatusServiceUnavailable
		}
		msg := "Wrong username or password, or this account cannot log in now."
		if c.cfg.TenantField {
			msg = "Wrong company, username or password, or this account cannot log in now."
		}
		c.render(w, r, status, "login", "Log in", again, msg)
		return
	}
	c.setCookie(w, r, challengeCookie, string(res.Challenge), 300)
	if res.Enrolment == nil {
		to := "/login/code"
		switch {
		case res.PasskeyRequired:
			to += "?passkey=required"
		case res.Passkey:
			to += "?passkey=1"
		}
		c.redirect(w, r, to)
		return
	}
	// First login: the authenticator app is set up from the QR code,
	// drawn here, then the first code completes the login.
	code, err := qr.Encode(string(res.Enrolment.URI), qr.M)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	png := "data:image/png;base64," + base64.StdEncoding.EncodeToString(code.PNG())
	c.render(w, r, http.StatusOK, "code", "Set up your authenticator", loginForm{QR: template.URL(png), Secret: string(res.Enrolment.Secret)}, "")
}

// limited asks the host's rate limits (Config.Limit) about a login form;
// a refusal shows the login page again with 429 and Retry-After.
func (c *Console) limited(w http.ResponseWriter, r *http.Request, action, login string, form loginForm) bool {
	if c.cfg.Limit == nil {
		return false
	}
	err := c.cfg.Limit(r, action, login)
	if err == nil {
		return false
	}
	var ra interface{ RetryAfter() int }
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", strconv.Itoa(ra.RetryAfter()))
	}
	c.render(w, r, http.StatusTooManyRequests, "login", "Log in", form, "Too many attempts; wait a moment and try again.")
	return true
}

func (c *Console) codePage(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(challengeCookie); err != nil {
		c.redirect(w, r, "/login")
		return
	}
	q := r.URL.Query().Get("passkey")
	c.render(w, r, http.StatusOK, "code", "Authentication code", loginForm{Passkey: q != "", PasskeyRequired: q == "required"}, "")
}

// code is the TOTP step: on success a new session token, the only one
// this browser holds, replaces whatever it had.
func (c *Console) code(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(challengeCookie)
	if err != nil {
		c.redirect(w, r, "/login")
		return
	}
	if c.limited(w, r, "code", "", loginForm{}) {
		return
	}
	res, err := c.cfg.Ops.CompleteLogin(r.Context(), backoffice.Secret(ck.Value), strings.TrimSpace(r.PostFormValue("code")))
	if err != nil {
		c.setCookie(w, r, challengeCookie, "", -1)
		c.render(w, r, http.StatusUnauthorized, "login", "Log in", loginForm{}, "Wrong or expired code; log in again.")
		return
	}
	c.setCookie(w, r, challengeCookie, "", -1)
	c.setCookie(w, r, sessionCookie, string(res.Session), int(res.ExpiresAt.Sub(c.cfg.Now()).Seconds()))
	c.redirect(w, r, "/users")
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if err := c.cfg.Ops.Logout(r.Context(), backoffice.Secret(ck.Value)); err != nil && !errors.Is(err, backoffice.ErrUnauthenticated) {
			c.cfg.Log.WarnContext(r.Context(), "console: logout", "err", err)
		}
	}
	c.setCookie(w, r, sessionCookie, "", -1)
	c.redirect(w, r, "/login")
}

// usersData is the All Users screen: the search toolbar, the filters, a
// page of users and the link to the next.
type usersData struct {
	Search   enduser.SearchQuery
	Searched bool
	Type     string
	Status   string
	From, To string
	Types    []enduser.Type
	Statuses []enduser.Status
	Users    []*enduser.EndUser
	Next     template.URL // the next page, empty on the last
	Fields   map[string]string
}

const pageSize = 25

func (c *Console) usersPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := usersData{Types: enduser.Types(), Statuses: []enduser.Status{enduser.StatusPending, enduser.StatusValidated, enduser.StatusCanceled},
		Search: enduser.SearchQuery{ID: enduser.ID(strings.TrimSpace(q.Get("id"))), Tag: strings.TrimSpace(q.Get("tag")),
			Email: strings.TrimSpace(q.Get("email")), Name: strings.TrimSpace(q.Get("name"))},
		Type: q.Get("type"), Status: q.Get("status"), From: q.Get("from"), To: q.Get("to"), Fields: map[string]string{}}
	pr := backoffice.PageRequest{Limit: pageSize, Cursor: q.Get("cursor")}
	var page backoffice.Page[*enduser.EndUser]
	var err error
	if c.cfg.Limit != nil {
		if err := c.cfg.Limit(r, "search", ""); err != nil {
			var ra interface{ RetryAfter() int }
			if errors.As(err, &ra) {
				w.Header().Set("Retry-After", strconv.Itoa(ra.RetryAfter()))
			}
			c.render(w, r, http.StatusTooManyRequests, "users", "All users", d, "Too many searches; wait a moment and try again.")
			return
		}
	}
	if d.Search != (enduser.SearchQuery{}) {
		d.Searched = true
		page, err = c.cfg.Users.Search(r.Context(), d.Search, pr)
	} else {
		f := enduser.Filter{Type: optional[enduser.Type](d.Type), Status: optional[enduser.Status](d.Status)}
		f.CreatedFrom = parseDay(d.From, d.Fields, "from")
		if to := parseDay(d.To, d.Fields, "to"); !to.IsZero() {
			f.CreatedTo = to.AddDate(0, 0, 1) // the whole last day
		}
		if len(d.Fields) > 0 {
			c.render(w, r, http.StatusUnprocessableEntity, "users", "All users", d, "Check the dates.")
			return
		}
		page, err = c.cfg.Users.List(r.Context(), f, pr)
	}
	if err != nil {
		if errors.Is(err, backoffice.ErrInvalid) {
			for _, f := range backoffice.FieldsOf(err) {
				d.Fields[f] = "invalid"
			}
			var e *backoffice.Error
			msg := "Check the search."
			if errors.As(err, &e) {
				msg = e.Msg
			}
			c.render(w, r, http.StatusUnprocessableEntity, "users", "All users", d, msg)
			return
		}
		c.fail(w, r, err)
		return
	}
	d.Users = page.Items
	if page.Next != "" {
		next := r.URL.Query()
		next.Set("cursor", page.Next)
		d.Next = template.URL(c.cfg.Prefix + "/users?" + next.Encode()) // built from url.Values: safe
	}
	c.render(w, r, http.StatusOK, "users", "All users", d, "")
}

// formVersion reads the version of the record the page showed, which
// every change posts so that a stale page cannot undo a newer change.
func formVersion(r *http.Request, op, whose string) (int64, error) {
	var v int64
	if _, err := fmt.Sscan(r.PostFormValue("version"), &v); err != nil {
		return 0, backoffice.Errorf(backoffice.ErrInvalid, op, "the form lacks %s version; reload the page", whose)
	}
	return v, nil
}

// optional is a filter's value: nil when the form left it empty.
func optional[T ~string](s string) *T {
	if s == "" {
		return nil
	}
	v := T(s)
	return &v
}

func parseDay(s string, fields map[string]string, name string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		fields[name] = "a date, YYYY-MM-DD"
	}
	return t
}

// profileData is the profile board: the user, the tab shown and what it
// lists, and after a refused form what was typed and why.
type profileData struct {
	User     *enduser.EndUser
	Tab      string
	Tabs     []string
	Children []*enduser.EndUser
	Devices  []deviceView
	History  []backoffice.AuditEntry
	Reasons  []scadevice.LockReason
	Next     template.URL // the tab's next page, empty on the last
	Form     boardForm
}

// boardForm is what a refused form on the board had typed, and the reason
// of each refused field.
type boardForm struct {
	Device  string // the device whose command was refused
	Reason  string
	Message string
	Values  map[string]string
	Fields  map[string]string
}

type deviceView struct {
	*scadevice.Device
	Commands map[string]bool // by command name, as templates index it
}

var tabs = []string{"profile", "kyc", "tax", "children", "devices", "history"}

func (c *Console) profilePage(w http.ResponseWriter, r *http.Request) {
	u, err := c.cfg.Users.Get(r.Context(), enduser.ID(r.PathValue("id")))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.board(w, r, u, r.URL.Query().Get("tab"), http.StatusOK, "", boardForm{})
}

// board draws a user's profile board at a tab: with a message and what
// was typed after a refused form.
func (c *Console) board(w http.ResponseWriter, r *http.Request, u *enduser.EndUser, tab string, status int, msg string, form boardForm) {
	ctx := r.Context()
	if form.Values == nil {
		form.Values = map[string]string{}
	}
	if form.Fields == nil {
		form.Fields = map[string]string{}
	}
	d := profileData{User: u, Tab: tab, Tabs: tabs, Reasons: scadevice.LockReasons(), Form: form}
	pr := backoffice.PageRequest{Limit: pageSize, Cursor: r.URL.Query().Get("cursor")}
	next := func(cursor string) {
		if cursor != "" {
			d.Next = template.URL(c.cfg.Prefix + "/users/" + url.PathEscape(string(u.ID)) + "?" + url.Values{"tab": {tab}, "cursor": {cursor}}.Encode())
		}
	}
	switch d.Tab {
	case "children":
		page, err := c.cfg.Users.Children(ctx, u.ID, pr)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Children = page.Items
		next(page.Next)
	case "devices":
		devices, err := c.cfg.Devices.Devices(ctx, u.ID)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		a := actorOf(r)
		for _, dv := range devices {
			v := deviceView{Device: dv, Commands: map[string]bool{}}
			for _, cmd := range scadevice.Available(a, dv) {
				v.Commands[string(cmd)] = true
			}
			d.Devices = append(d.Devices, v)
		}
	case "history":
		page, err := c.cfg.Ops.AuditLog(ctx, enduser.TargetEndUser, string(u.ID), pr)
		if err != nil && !errors.Is(err, backoffice.ErrForbidden) {
			c.fail(w, r, err)
			return
		}
		d.History = page.Items
		next(page.Next)
	case "profile", "kyc", "tax":
	default:
		d.Tab = "profile"
	}
	c.render(w, r, status, "profile", u.DisplayName(), d, msg)
}

// refused shows the board again after a form the service refused for a
// reason the operator can act on; it reports whether it did.
func (c *Console) refused(w http.ResponseWriter, r *http.Request, id enduser.ID, tab string, err error, form boardForm) bool {
	status, msg, ok := kindOf(err)
	if !ok {
		return false
	}
	u, gerr := c.cfg.Users.Get(r.Context(), id)
	if gerr != nil {
		return false
	}
	form.Fields = map[string]string{}
	fieldErrors(err, form.Fields)
	c.board(w, r, u, tab, status, msg, form)
	return true
}

// deviceCommand runs a device command from the devices tab, then shows
// the tab again.
func (c *Console) deviceCommand(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := scadevice.ID(r.PathValue("id"))
	version, err := formVersion(r, "console: device", "the device's")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	verified := r.PostFormValue("identity_verified") == "yes"
	var d *scadevice.Device
	switch scadevice.Command(r.PathValue("command")) {
	case scadevice.CommandLock:
		d, err = c.cfg.Devices.Lock(ctx, id, version, scadevice.LockReason(r.PostFormValue("reason")), r.PostFormValue("message"))
	case scadevice.CommandUnlock:
		d, err = c.cfg.Devices.Unlock(ctx, id, version, verified)
	case scadevice.CommandResetPIN:
		d, err = c.cfg.Devices.ResetPIN(ctx, id, version, verified)
	case scadevice.CommandDelete:
		d, err = c.cfg.Devices.Delete(ctx, id, version)
	default:
		c.fail(w, r, backoffice.NewError(backoffice.ErrNotFound, "console: device", "no such command"))
		return
	}
	if cmd := scadevice.Command(r.PathValue("command")); cmd == scadevice.CommandUnlock || cmd == scadevice.CommandResetPIN {
		params := map[string]string{"version": r.PostFormValue("version"), "identity_verified": "false"}
		if verified {
			params["identity_verified"] = "true"
		}
		back := "/users"
		if dv, derr := c.cfg.Devices.Device(ctx, id); derr == nil {
			back = "/users/" + url.PathEscape(string(dv.User)) + "?tab=devices"
		}
		if c.askApproval(w, r, err, backoffice.Action("scadevice."+string(cmd)), scadevice.TargetDevice, string(id), params, back) {
			return
		}
	}
	if err != nil {
		if dv, derr := c.cfg.Devices.Device(ctx, id); derr == nil && c.refused(w, r, dv.User, "devices", err,
			boardForm{Device: string(id), Reason: r.PostFormValue("reason"), Message: r.PostFormValue("message")}) {
			return
		}
		c.fail(w, r, err)
		return
	}
	c.redirect(w, r, "/users/"+url.PathEscape(string(d.User))+"?tab=devices")
}
