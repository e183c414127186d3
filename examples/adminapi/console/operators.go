package console

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// operatorsData is the Dashboard Users screen.
type operatorsData struct {
	Status    string
	Role      string
	Statuses  []accessctl.OperatorStatus
	Roles     []accessctl.Role
	Operators []*accessctl.Operator
	Next      template.URL
}

var operatorStatuses = []accessctl.OperatorStatus{accessctl.StatusInvited, accessctl.StatusActive, accessctl.StatusBlocked, accessctl.StatusDeactivated}

func (c *Console) operatorsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	d := operatorsData{Status: q.Get("status"), Role: q.Get("role"), Statuses: operatorStatuses}
	f := accessctl.OperatorFilter{Status: optional[accessctl.OperatorStatus](d.Status), Role: optional[accessctl.RoleName](d.Role)}
	roles, err := c.cfg.Ops.Roles(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d.Roles = roles
	page, err := c.cfg.Ops.Operators(ctx, f, backoffice.PageRequest{Limit: pageSize, Cursor: q.Get("cursor")})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d.Operators = page.Items
	if page.Next != "" {
		q.Set("cursor", page.Next)
		d.Next = template.URL(c.cfg.Prefix + "/operators?" + q.Encode()) // built from url.Values: safe
	}
	c.render(w, r, http.StatusOK, "operators", "Dashboard users", d, "")
}

// operatorForm is the invite form, shown again with what was typed and a
// message next to each field the service refused.
type operatorForm struct {
	From      *accessctl.Operator // the operator duplicated, if any
	Username  string
	Email     string
	FirstName string
	LastName  string
	Roles     []accessctl.Role
	Chosen    map[string]bool
	Fields    map[string]string
}

func (c *Console) newOperatorPage(w http.ResponseWriter, r *http.Request) {
	f, err := c.operatorForm(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "invite", "Invite an operator", f, "")
}

func (c *Console) operatorForm(r *http.Request) (*operatorForm, error) {
	roles, err := c.cfg.Ops.Roles(r.Context())
	if err != nil {
		return nil, err
	}
	f := &operatorForm{Roles: roles, Chosen: map[string]bool{}, Fields: map[string]string{}}
	if from := r.FormValue("from"); from != "" {
		if f.From, err = c.cfg.Ops.Operator(r.Context(), accessctl.OperatorID(from)); err != nil {
			return nil, err
		}
		for _, rn := range f.From.Roles {
			f.Chosen[string(rn)] = true
		}
	}
	return f, nil
}

// invite invites an operator, or duplicates one when the form names it.
func (c *Console) invite(w http.ResponseWriter, r *http.Request) {
	f, err := c.operatorForm(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	f.Username, f.Email = strings.TrimSpace(r.PostFormValue("username")), strings.TrimSpace(r.PostFormValue("email"))
	f.FirstName, f.LastName = strings.TrimSpace(r.PostFormValue("first_name")), strings.TrimSpace(r.PostFormValue("last_name"))
	in := accessctl.NewOperator{Username: f.Username, Email: f.Email, FirstName: f.FirstName, LastName: f.LastName, AllAccounts: true}
	f.Chosen = map[string]bool{}
	for _, rn := range r.PostForm["roles"] {
		in.Roles = append(in.Roles, accessctl.RoleName(rn))
		f.Chosen[rn] = true
	}
	var o *accessctl.Operator
	if f.From != nil {
		o, err = c.cfg.Ops.DuplicateOperator(r.Context(), f.From.ID, in)
	} else {
		o, err = c.cfg.Ops.InviteOperator(r.Context(), in)
	}
	if err != nil {
		if msg, ok := fieldErrors(err, f.Fields); ok {
			c.render(w, r, http.StatusUnprocessableEntity, "invite", "Invite an operator", f, msg)
			return
		}
		c.fail(w, r, err)
		return
	}
	c.redirect(w, r, "/operators/"+url.PathEscape(string(o.ID)))
}

// fieldErrors puts the reason of each refused field of an ErrInvalid or
// ErrConflict into fields, and says whether it was one.
func fieldErrors(err error, fields map[string]string) (string, bool) {
	var e *backoffice.Error
	if !errors.As(err, &e) || !errors.Is(err, backoffice.ErrInvalid) && !errors.Is(err, backoffice.ErrConflict) {
		return "", false
	}
	for _, v := range e.Fields {
		fields[v.Field] = v.Reason
	}
	return "Check the form: " + e.Msg, true
}

// operatorData is one operator's board.
type operatorData struct {
	Operator *accessctl.Operator
	Tab      string
	Roles    []accessctl.Role
	Held     map[string]bool
	Sessions []*accessctl.Session
	History  []backoffice.AuditEntry
	Next     template.URL
	Links    []accessctl.Link  // links sent and not yet followed
	Values   map[string]string // the identity form's fields
	Fields   map[string]string // and why they were refused
	// Managed: the identity provider manages the operator (I6); the
	// console offers none of what only it may change.
	Managed bool
	// Self: the board is the viewer's own, where it adds passkeys.
	Self bool
}

func (c *Console) operatorPage(w http.ResponseWriter, r *http.Request) {
	c.operatorBoard(w, r, accessctl.OperatorID(r.PathValue("id")), http.StatusOK, "", nil, nil)
}

// operatorBoard draws an operator's board; after a refused edit, with the
// message, what was typed and the reason of each refused field.
func (c *Console) operatorBoard(w http.ResponseWriter, r *http.Request, id accessctl.OperatorID, status int, msg string, typed map[string]string, refusal error) {
	ctx := r.Context()
	o, err := c.cfg.Ops.Operator(ctx, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	roles, err := c.cfg.Ops.Roles(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := operatorData{Operator: o, Tab: r.URL.Query().Get("tab"), Roles: roles, Held: map[string]bool{}, Fields: map[string]string{},
		Values: map[string]string{"first_name": o.FirstName, "last_name": o.LastName, "email": o.Email}}
	if typed != nil {
		d.Values = typed
		fieldErrors(refusal, d.Fields)
	}
	for _, rn := range o.Roles {
		d.Held[string(rn)] = true
	}
	if t, err := c.cfg.Ops.Tenant(ctx); err == nil {
		d.Managed = t.SSO.Enabled && o.Managed
	}
	if a, ok := accessctl.ActorFrom(ctx); ok {
		d.Self = a.ID() == string(o.ID)
	}
	switch d.Tab {
	case "sessions":
		if d.Sessions, err = c.cfg.Ops.Sessions(ctx, o.ID); err != nil && !errors.Is(err, backoffice.ErrForbidden) {
			c.fail(w, r, err)
			return
		}
	case "history":
		page, err := c.cfg.Ops.History(ctx, o.ID, backoffice.PageRequest{Limit: pageSize, Cursor: r.URL.Query().Get("cursor")})
		if err != nil && !errors.Is(err, backoffice.ErrForbidden) {
			c.fail(w, r, err)
			return
		}
		d.History = page.Items
		if page.Next != "" {
			d.Next = template.URL(c.cfg.Prefix + "/operators/" + url.PathEscape(string(o.ID)) + "?" + url.Values{"tab": {"history"}, "cursor": {page.Next}}.Encode())
		}
	default:
		d.Tab = "profile"
		if d.Links, err = c.cfg.Ops.Links(ctx, o.ID); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	c.render(w, r, status, "operator", o.FirstName+" "+o.LastName, d, msg)
}

// operatorAction runs one of the board's buttons; each needs the version
// the page showed, so a stale page cannot undo a newer change.
func (c *Console) operatorAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := accessctl.OperatorID(r.PathValue("id"))
	version, err := formVersion(r, "console: operator", "the operator's")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	tab := ""
	switch r.PathValue("action") {
	case "deactivate":
		_, err = c.cfg.Ops.DeactivateOperator(ctx, id, version)
	case "reactivate":
		_, err = c.cfg.Ops.ReactivateOperator(ctx, id, version)
	case "block":
		_, err = c.cfg.Ops.BlockOperator(ctx, id, version)
	case "unblock":
		_, err = c.cfg.Ops.UnblockOperator(ctx, id, version)
	case "reset_mfa":
		_, err = c.cfg.Ops.ResetMFA(ctx, id, version)
	case "send_reset":
		err = c.cfg.Ops.SendPasswordReset(ctx, id)
	case "resend_invitation":
		err = c.cfg.Ops.ResendInvitation(ctx, id)
	case "revoke_sessions":
		err, tab = c.cfg.Ops.RevokeSessions(ctx, id), "?tab=sessions"
	case "identity":
		first, last := strings.TrimSpace(r.PostFormValue("first_name")), strings.TrimSpace(r.PostFormValue("last_name"))
		email := strings.TrimSpace(r.PostFormValue("email"))
		_, err = c.cfg.Ops.UpdateOperator(ctx, id, accessctl.OperatorUpdate{Version: version, FirstName: &first, LastName: &last, Email: &email})
		if err != nil {
			if status, msg, ok := kindOf(err); ok {
				c.operatorBoard(w, r, id, status, msg, map[string]string{"first_name": first, "last_name": last, "email": email}, err)
				return
			}
		}
	case "roles":
		roles := make([]accessctl.RoleName, 0, len(r.PostForm["roles"]))
		for _, rn := range r.PostForm["roles"] {
			roles = append(roles, accessctl.RoleName(rn))
		}
		_, err = c.cfg.Ops.UpdateOperator(ctx, id, accessctl.OperatorUpdate{Version: version, Roles: &roles})
	case "delete":
		if err = c.cfg.Ops.DeleteOperator(ctx, id, version); err == nil {
			c.redirect(w, r, "/operators")
			return
		}
	default:
		err = backoffice.NewError(backoffice.ErrNotFound, "console: operator", "no such action")
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.redirect(w, r, "/operators/"+url.PathEscape(string(id))+tab)
}

// matrixData is the permission matrix of the tenant's roles.
type matrixData struct {
	Roles       []accessctl.Role
	Permissions []accessctl.PermissionInfo
	Grants      map[string]map[string]bool // permission → role → granted
}

func (c *Console) matrixPage(w http.ResponseWriter, r *http.Request) {
	roles, err := c.cfg.Ops.Roles(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := matrixData{Roles: roles, Permissions: c.cfg.Ops.Catalog().Permissions(), Grants: map[string]map[string]bool{}}
	for _, p := range d.Permissions {
		d.Grants[string(p.Name)] = map[string]bool{}
		for _, role := range roles {
			d.Grants[string(p.Name)][string(role.Name)] = slices.Contains(role.Permissions, p.Name)
		}
	}
	c.render(w, r, http.StatusOK, "matrix", "Roles and permissions", d, "")
}
