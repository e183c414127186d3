package scim

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// userResource is an operator as a SCIM User, as a generic document so
// that filters, attribute selection and PATCH work on what the client
// sees.
func (h *Handler) userResource(o *accessctl.Operator, groups map[string]string) map[string]any {
	doc := map[string]any{
		"schemas":  []any{UserSchema},
		"id":       string(o.ID),
		"userName": o.Username,
		"active":   o.Status != accessctl.StatusDeactivated,
		"meta": map[string]any{
			"resourceType": "User",
			"created":      o.CreatedAt.UTC().Format(time.RFC3339),
			"lastModified": o.UpdatedAt.UTC().Format(time.RFC3339),
			"location":     h.ref("Users", string(o.ID)),
			"version":      etag(o.Version),
		},
	}
	if o.ExternalKey != "" {
		doc["externalId"] = o.ExternalKey
	}
	name := map[string]any{}
	if o.FirstName != "" {
		name["givenName"] = o.FirstName
	}
	if o.LastName != "" {
		name["familyName"] = o.LastName
	}
	if formatted := strings.TrimSpace(o.FirstName + " " + o.LastName); formatted != "" {
		name["formatted"] = formatted
	}
	if len(name) > 0 {
		doc["name"] = name
	}
	if o.DisplayName != "" {
		doc["displayName"] = o.DisplayName
	}
	if o.Email != "" {
		doc["emails"] = []any{map[string]any{"value": o.Email, "type": "work", "primary": true}}
	}
	if len(o.Groups) > 0 {
		var gs []any
		for _, g := range o.Groups {
			if id, ok := groups[g]; ok {
				gs = append(gs, map[string]any{"value": id, "display": g, "$ref": h.ref("Groups", id), "type": "direct"})
			}
		}
		if len(gs) > 0 {
			doc["groups"] = gs
		}
	}
	if o.Manager != "" {
		doc["schemas"] = []any{UserSchema, EnterpriseSchema}
		doc[EnterpriseSchema] = map[string]any{"manager": map[string]any{"value": string(o.Manager), "$ref": h.ref("Users", string(o.Manager))}}
	}
	return doc
}

// groupIDs maps each group name of the tenant to its id.
func (h *Handler) groupIDs(r *http.Request) (map[string]string, error) {
	return h.ops.ManagedGroupIDs(r.Context())
}

// userFrom reads what a User document says of the person (a POST, a PUT,
// or the document a PATCH produced). Read-only attributes are ignored.
func userFrom(doc map[string]any) (accessctl.IdPUser, error) {
	u := accessctl.IdPUser{Active: true}
	var err error
	str := func(v any, attr string) string {
		switch v := v.(type) {
		case nil:
			return ""
		case string:
			return v
		}
		if err == nil {
			err = badRequest("invalidValue", "%s must be a string", attr)
		}
		return ""
	}
	for k, v := range doc {
		switch strings.ToLower(k) {
		case "username":
			u.UserName = str(v, "userName")
		case "externalid":
			u.ExternalID = str(v, "externalId")
		case "displayname":
			u.DisplayName = str(v, "displayName")
		case "name":
			name, _ := v.(map[string]any)
			for nk, nv := range name {
				switch strings.ToLower(nk) {
				case "givenname":
					u.FirstName = str(nv, "name.givenName")
				case "familyname":
					u.LastName = str(nv, "name.familyName")
				}
			}
		case "active":
			b, ok := boolValue(v)
			if !ok {
				return u, badRequest("invalidValue", "active must be true or false")
			}
			u.Active = b
		case "emails":
			u.Email = pickEmail(v)
		case strings.ToLower(EnterpriseSchema):
			ext, _ := v.(map[string]any)
			for ek, ev := range ext {
				if strings.EqualFold(ek, "manager") {
					u.Manager = accessctl.OperatorID(managerValue(ev))
				}
			}
		}
	}
	if u.UserName == "" && err == nil {
		err = badRequest("invalidValue", "userName is required")
	}
	return u, err
}

// boolValue reads a boolean, or the strings "True" and "False" Entra ID
// sends (I7).
func boolValue(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// pickEmail is the primary email, else the work one, else the first.
func pickEmail(v any) string {
	list, _ := v.([]any)
	var first, work string
	for _, e := range list {
		m, _ := e.(map[string]any)
		val, _ := m["value"].(string)
		if val == "" {
			continue
		}
		if p, _ := boolValue(m["primary"]); p {
			return val
		}
		if t, _ := m["type"].(string); strings.EqualFold(t, "work") && work == "" {
			work = val
		}
		if first == "" {
			first = val
		}
	}
	if work != "" {
		return work
	}
	return first
}

// managerValue reads the manager as {"value": id} or as a bare id, as
// Entra ID sends it in a PATCH.
func managerValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		s, _ := v["value"].(string)
		return s
	}
	return ""
}

func (h *Handler) writeUser(w http.ResponseWriter, r *http.Request, status int, o *accessctl.Operator) error {
	groups, err := h.groupIDs(r)
	if err != nil {
		return err
	}
	doc := h.userResource(o, groups)
	if status == http.StatusCreated {
		w.Header().Set("Location", h.ref("Users", string(o.ID)))
	}
	w.Header().Set("ETag", etag(o.Version))
	writeJSON(w, status, selectAttributes(doc, r))
	return nil
}

// listUsers answers GET /Users and POST /Users/.search.
func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	match, err := compile(q.filter)
	if err != nil {
		return err
	}
	ops, err := h.ops.ManagedOperators(r.Context())
	if err != nil {
		return err
	}
	groups, err := h.groupIDs(r)
	if err != nil {
		return err
	}
	var docs []map[string]any
	for _, o := range ops {
		if doc := h.userResource(o, groups); match(doc) {
			docs = append(docs, doc)
		}
	}
	return h.writeList(w, q, docs)
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) error {
	doc, err := readJSON(r)
	if err != nil {
		return err
	}
	u, err := userFrom(doc)
	if err != nil {
		return err
	}
	o, err := h.ops.CreateManagedOperator(r.Context(), u)
	if err != nil {
		return err
	}
	return h.writeUser(w, r, http.StatusCreated, o)
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) error {
	o, err := h.ops.ManagedOperator(r.Context(), accessctl.OperatorID(r.PathValue("id")))
	if err != nil {
		return err
	}
	if v := strings.TrimSpace(r.Header.Get("If-None-Match")); v != "" && v == etag(o.Version) {
		w.Header().Set("ETag", v)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return h.writeUser(w, r, http.StatusOK, o)
}

func (h *Handler) replaceUser(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	doc, err := readJSON(r)
	if err != nil {
		return err
	}
	u, err := userFrom(doc)
	if err != nil {
		return err
	}
	o, err := h.ops.ReplaceManagedOperator(r.Context(), accessctl.OperatorID(r.PathValue("id")), version, u)
	if err != nil {
		return preconditionOr(err, version)
	}
	return h.writeUser(w, r, http.StatusOK, o)
}

func (h *Handler) patchUser(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	body, err := readJSON(r)
	if err != nil {
		return err
	}
	ops, err := patchOps(body)
	if err != nil {
		return err
	}
	id := accessctl.OperatorID(r.PathValue("id"))
	o, err := h.ops.ManagedOperator(r.Context(), id)
	if err != nil {
		return err
	}
	if version != 0 && version != o.Version {
		return &Error{Status: http.StatusPreconditionFailed, Detail: "the user changed since the version If-Match names; read it again"}
	}
	doc := h.userResource(o, nil)
	delete(doc, "groups") // read-only here: membership changes through Groups
	for _, op := range ops {
		if err := op.apply(doc, userAttrs); err != nil {
			return err
		}
	}
	u, err := userFrom(doc)
	if err != nil {
		return err
	}
	read := o.Version
	o, err = h.ops.ReplaceManagedOperator(r.Context(), id, read, u)
	if err != nil {
		return preconditionOr(err, read)
	}
	return h.writeUser(w, r, http.StatusOK, o)
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	if err := h.ops.DeprovisionManagedOperator(r.Context(), accessctl.OperatorID(r.PathValue("id")), version); err != nil {
		return preconditionOr(err, version)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// preconditionOr answers a version conflict as 412 when the client named
// a version, and passes every other error on.
func preconditionOr(err error, version int64) error {
	if version != 0 && isConflictWithoutField(err) {
		return &Error{Status: http.StatusPreconditionFailed, Detail: "the resource changed since the version If-Match names; read it again"}
	}
	return err
}

// userAttrs are the User's attributes and whether each is multi-valued,
// for PATCH; names are compared case-insensitively.
// The core schema's attributes this handler does not keep (title,
// locale, addresses...) are accepted and ignored, as RFC 7644 lets a
// service provider do; "password" is not one: operators of an SSO tenant
// have none.
var userAttrs = attrSet{
	"username": false, "externalid": false, "displayname": false, "active": false, "name": false,
	"emails": true, "groups": true, strings.ToLower(EnterpriseSchema): false,
	"nickname": false, "profileurl": false, "title": false, "usertype": false, "preferredlanguage": false, "locale": false,
	"timezone": false, "phonenumbers": true, "ims": true, "photos": true, "addresses": true, "entitlements": true, "roles": true,
	"x509certificates": true,
}

// isConflictWithoutField is a version conflict, not a taken value.
func isConflictWithoutField(err error) bool {
	var be *backoffice.Error
	return errors.Is(err, backoffice.ErrConflict) && (!errors.As(err, &be) || len(be.Fields) == 0)
}
