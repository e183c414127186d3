package scim

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// groupAttrs are the Group's attributes, for PATCH.
var groupAttrs = attrSet{"displayname": false, "externalid": false, "members": true}

// groupVersion names a group's state: its name, external id and members.
func groupVersion(g *accessctl.IdPGroup) string {
	h := sha256.New()
	h.Write([]byte(g.Name + "\x00" + g.ExternalID))
	for _, m := range g.Members {
		h.Write([]byte("\x00" + string(m)))
	}
	return `W/"` + hex.EncodeToString(h.Sum(nil))[:20] + `"`
}

func (h *Handler) groupResource(g *accessctl.IdPGroup) map[string]any {
	doc := map[string]any{
		"schemas":     []any{GroupSchema},
		"id":          g.ID,
		"displayName": g.Name,
		"meta": map[string]any{
			"resourceType": "Group",
			"created":      g.Changed.UTC().Format(time.RFC3339),
			"lastModified": g.Changed.UTC().Format(time.RFC3339),
			"location":     h.ref("Groups", g.ID),
			"version":      groupVersion(g),
		},
	}
	if g.ExternalID != "" {
		doc["externalId"] = g.ExternalID
	}
	members := make([]any, 0, len(g.Members))
	for i, m := range g.Members {
		members = append(members, map[string]any{"value": string(m), "display": g.MemberNames[i], "$ref": h.ref("Users", string(m)), "type": "User"})
	}
	if len(members) > 0 {
		doc["members"] = members
	}
	return doc
}

func (h *Handler) writeGroup(w http.ResponseWriter, r *http.Request, status int, id string) error {
	g, err := h.ops.ManagedGroup(r.Context(), id)
	if err != nil {
		return err
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", h.ref("Groups", id))
	}
	w.Header().Set("ETag", groupVersion(g))
	writeJSON(w, status, selectAttributes(h.groupResource(g), r))
	return nil
}

// listGroups answers GET /Groups and POST /Groups/.search.
func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) error {
	q, err := listQuery(r)
	if err != nil {
		return err
	}
	match, err := compile(q.filter)
	if err != nil {
		return err
	}
	gs, err := h.ops.ManagedGroups(r.Context())
	if err != nil {
		return err
	}
	var docs []map[string]any
	for i := range gs {
		if doc := h.groupResource(&gs[i]); match(doc) {
			docs = append(docs, doc)
		}
	}
	return h.writeList(w, q, docs)
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request) error {
	return h.writeGroup(w, r, http.StatusOK, r.PathValue("id"))
}

// groupFrom reads a Group document: its name, external id and members.
func groupFrom(doc map[string]any) (name, externalID string, members []accessctl.OperatorID, err error) {
	name, _ = lookup(doc, "displayName").(string)
	externalID, _ = lookup(doc, "externalId").(string)
	if strings.TrimSpace(name) == "" {
		return "", "", nil, badRequest("invalidValue", "displayName is required")
	}
	for _, m := range elements(lookup(doc, "members")) {
		mm, _ := m.(map[string]any)
		id, ok := lookup(mm, "value").(string)
		if !ok || id == "" {
			return "", "", nil, badRequest("invalidValue", "each member needs a value, the user's id")
		}
		if !slices.Contains(members, accessctl.OperatorID(id)) {
			members = append(members, accessctl.OperatorID(id))
		}
	}
	return name, externalID, members, nil
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request) error {
	doc, err := readJSON(r)
	if err != nil {
		return err
	}
	name, ext, members, err := groupFrom(doc)
	if err != nil {
		return err
	}
	if err := h.checkMembers(r, members); err != nil {
		return err
	}
	g, err := h.ops.CreateManagedGroup(r.Context(), name, ext)
	if err != nil {
		return err
	}
	if err := h.setMembers(r, g, members); err != nil {
		return err
	}
	return h.writeGroup(w, r, http.StatusCreated, g.ID)
}

// checkMembers refuses members that are not users of the identity
// provider, before anything changes.
func (h *Handler) checkMembers(r *http.Request, members []accessctl.OperatorID) error {
	for _, m := range members {
		if _, err := h.ops.ManagedOperator(r.Context(), m); err != nil {
			if errors.Is(err, backoffice.ErrNotFound) {
				return badRequest("invalidValue", "member %q is not a user", m)
			}
			return err
		}
	}
	return nil
}

// setMembers makes the group's members exactly want: each operator that
// joins or leaves is changed on its own, with its own audit entry, and
// one that leaves its last mapped group is deprovisioned (I5).
func (h *Handler) setMembers(r *http.Request, g *accessctl.IdPGroup, want []accessctl.OperatorID) error {
	for _, m := range want {
		if slices.Contains(g.Members, m) {
			continue
		}
		o, err := h.ops.ManagedOperator(r.Context(), m)
		if err != nil {
			return err
		}
		if _, err := h.ops.SetManagedGroups(r.Context(), m, append(slices.Clone(o.Groups), g.Name)); err != nil {
			return err
		}
	}
	for _, m := range g.Members {
		if slices.Contains(want, m) {
			continue
		}
		o, err := h.ops.ManagedOperator(r.Context(), m)
		if err != nil {
			return err
		}
		rest := slices.DeleteFunc(slices.Clone(o.Groups), func(x string) bool { return x == g.Name })
		if _, err := h.ops.SetManagedGroups(r.Context(), m, rest); err != nil {
			return err
		}
	}
	return nil
}

// changeGroup renames the group and sets its members, as a PUT or a
// PATCH has it.
func (h *Handler) changeGroup(w http.ResponseWriter, r *http.Request, g *accessctl.IdPGroup, doc map[string]any) error {
	name, ext, members, err := groupFrom(doc)
	if err != nil {
		return err
	}
	if err := h.checkMembers(r, members); err != nil {
		return err
	}
	if name != g.Name || ext != g.ExternalID {
		if err := h.ops.RenameManagedGroup(r.Context(), g.ID, name, ext); err != nil {
			return err
		}
		g.Name = name
	}
	if err := h.setMembers(r, g, members); err != nil {
		return err
	}
	return h.writeGroup(w, r, http.StatusOK, g.ID)
}

// loadGroup reads a group for a change, checking If-Match.
func (h *Handler) loadGroup(r *http.Request) (*accessctl.IdPGroup, error) {
	g, err := h.ops.ManagedGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if v := strings.TrimSpace(r.Header.Get("If-Match")); v != "" && v != "*" && v != groupVersion(g) && v != strings.TrimPrefix(groupVersion(g), "W/") {
		return nil, &Error{Status: http.StatusPreconditionFailed, Detail: "the group changed since the version If-Match names; read it again"}
	}
	return g, nil
}

func (h *Handler) replaceGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := h.loadGroup(r)
	if err != nil {
		return err
	}
	doc, err := readJSON(r)
	if err != nil {
		return err
	}
	return h.changeGroup(w, r, g, doc)
}

func (h *Handler) patchGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := h.loadGroup(r)
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
	doc := h.groupResource(g)
	for _, op := range ops {
		if err := op.apply(doc, groupAttrs); err != nil {
			return err
		}
	}
	return h.changeGroup(w, r, g, doc)
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := h.loadGroup(r)
	if err != nil {
		return err
	}
	if err := h.ops.DeleteManagedGroup(r.Context(), g.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
