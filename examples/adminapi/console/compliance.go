package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/events"
)

// The compliance screens: four-eyes approvals, access reviews, and the
// audit history's verification (PCI DSS v4.0 7.2.4, 8, 10.3).

// requestData is the form that asks a second operator to approve an
// action the tenant's policy holds.
type requestData struct {
	Action     backoffice.Action
	TargetType string
	TargetID   string
	Params     map[string]string
	Keys       []string
	Back       string
	Reason     string
	Fields     map[string]string
}

// askApproval answers a call refused with ErrApprovalRequired with the
// form that requests the approval, carrying the call's arguments; it
// reports whether err was that refusal.
func (c *Console) askApproval(w http.ResponseWriter, r *http.Request, err error, action backoffice.Action, typ, id string,
	params map[string]string, back string) bool {
	if !errors.Is(err, accessctl.ErrApprovalRequired) {
		return false
	}
	d := requestData{Action: action, TargetType: typ, TargetID: id, Params: params, Keys: slices.Sorted(maps.Keys(params)), Back: back,
		Fields: map[string]string{}}
	c.render(w, r, http.StatusConflict, "request", "Approval needed", d, "This action needs a second operator's approval.")
	return true
}

func (c *Console) requestApproval(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, backoffice.NewError(backoffice.ErrInvalid, "console: approval", "the form could not be read"))
		return
	}
	d := requestData{Action: backoffice.Action(r.PostFormValue("action")), TargetType: r.PostFormValue("target_type"),
		TargetID: r.PostFormValue("target_id"), Params: map[string]string{}, Back: r.PostFormValue("back"),
		Reason: r.PostFormValue("reason"), Fields: map[string]string{}}
	for k, v := range r.PostForm {
		if name, ok := strings.CutPrefix(k, "param_"); ok && len(v) == 1 {
			d.Params[name] = v[0]
		}
	}
	d.Keys = slices.Sorted(maps.Keys(d.Params))
	_, err := c.cfg.Ops.RequestApproval(r.Context(), accessctl.ApprovalRequest{Action: d.Action, TargetType: d.TargetType, TargetID: d.TargetID,
		Params: d.Params, Reason: d.Reason})
	if err != nil {
		msg, ok := fieldErrors(err, d.Fields)
		if !ok {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusUnprocessableEntity, "request", "Approval needed", d, msg)
		return
	}
	c.redirect(w, r, "/approvals")
}

// approvalsData lists requests: the pending ones, then the rest.
type approvalsData struct {
	Pending []*accessctl.Approval
	Decided []*accessctl.Approval
	Me      accessctl.OperatorID
	Fields  map[string]string
}

func (c *Console) approvalsPage(w http.ResponseWriter, r *http.Request) {
	c.showApprovals(w, r, http.StatusOK, "", nil)
}

func (c *Console) showApprovals(w http.ResponseWriter, r *http.Request, status int, msg string, fields map[string]string) {
	pending := accessctl.ApprovalPending
	open, err := c.cfg.Ops.Approvals(r.Context(), &pending, backoffice.PageRequest{Limit: 100})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	all, err := c.cfg.Ops.Approvals(r.Context(), nil, backoffice.PageRequest{Limit: 50})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := approvalsData{Pending: open.Items, Me: accessctl.OperatorID(actorOf(r).ID()), Fields: fields}
	for _, ap := range all.Items {
		if ap.Status != accessctl.ApprovalPending {
			d.Decided = append(d.Decided, ap)
		}
	}
	c.render(w, r, status, "approvals", "Approvals", d, msg)
}

// decide approves or rejects a request; a refusal shows the list again
// with the reason.
func (c *Console) decide(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var err error
	var ap *accessctl.Approval
	switch r.PathValue("decision") {
	case "approve":
		ap, err = c.cfg.Ops.Approve(r.Context(), id, r.PostFormValue("effect_digest"))
	case "reject":
		ap, err = c.cfg.Ops.Reject(r.Context(), id, r.PostFormValue("reason"))
	default:
		err = backoffice.NewError(backoffice.ErrNotFound, "console: approval", "no such decision")
	}
	if err != nil {
		status, msg, ok := kindOf(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		fields := map[string]string{}
		if _, invalid := fieldErrors(err, fields); invalid {
			fields = map[string]string{id: fields["reason"]}
		}
		c.showApprovals(w, r, status, msg, fields)
		return
	}
	if ap.Status == accessctl.ApprovalFailed {
		c.showApprovals(w, r, http.StatusOK, "Approved, but the action was refused: "+ap.Outcome, nil)
		return
	}
	c.redirect(w, r, "/approvals")
}

// reviewsData lists the campaigns and where the tenant stands.
type reviewsData struct {
	Reviews []*accessctl.Review
	Report  *accessctl.ReviewReport
	Now     time.Time
	Name    string
	Due     string
	Fields  map[string]string
}

func (c *Console) reviewsPage(w http.ResponseWriter, r *http.Request) {
	c.showReviews(w, r, http.StatusOK, "", reviewsData{Fields: map[string]string{}})
}

func (c *Console) showReviews(w http.ResponseWriter, r *http.Request, status int, msg string, d reviewsData) {
	list, err := c.cfg.Ops.Reviews(r.Context(), backoffice.PageRequest{Limit: 50})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if d.Report, err = c.cfg.Ops.ReviewStatus(r.Context()); err != nil {
		c.fail(w, r, err)
		return
	}
	d.Reviews, d.Now = list.Items, c.cfg.Now()
	if d.Due == "" {
		d.Due = d.Now.Add(14 * 24 * time.Hour).Format(time.DateOnly)
	}
	c.render(w, r, status, "reviews", "Access reviews", d, msg)
}

func (c *Console) startReview(w http.ResponseWriter, r *http.Request) {
	d := reviewsData{Name: r.PostFormValue("name"), Due: r.PostFormValue("due"), Fields: map[string]string{}}
	due, err := time.Parse(time.DateOnly, d.Due)
	if err != nil {
		d.Fields["due_at"] = "a date, such as 2026-12-31"
		c.showReviews(w, r, http.StatusUnprocessableEntity, "Check the form.", d)
		return
	}
	rev, err := c.cfg.Ops.StartReview(r.Context(), d.Name, due.Add(24*time.Hour-time.Second))
	if err != nil {
		msg, ok := fieldErrors(err, d.Fields)
		if !ok {
			c.fail(w, r, err)
			return
		}
		c.showReviews(w, r, http.StatusUnprocessableEntity, msg, d)
		return
	}
	c.redirect(w, r, "/reviews/"+url.PathEscape(rev.ID))
}

type reviewData struct {
	Review *accessctl.Review
	Me     accessctl.OperatorID
	Now    time.Time
}

func (c *Console) reviewPage(w http.ResponseWriter, r *http.Request) {
	c.showReview(w, r, http.StatusOK, "")
}

func (c *Console) showReview(w http.ResponseWriter, r *http.Request, status int, msg string) {
	rev, err := c.cfg.Ops.Review(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, status, "review", rev.Name, reviewData{Review: rev, Me: accessctl.OperatorID(actorOf(r).ID()), Now: c.cfg.Now()}, msg)
}

func (c *Console) decideLine(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	_, err := c.cfg.Ops.DecideReview(r.Context(), id, accessctl.OperatorID(r.PostFormValue("operator")),
		accessctl.ReviewDecision(r.PostFormValue("decision")), r.PostFormValue("note"))
	if err != nil {
		status, msg, ok := kindOf(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		c.showReview(w, r, status, msg)
		return
	}
	c.redirect(w, r, "/reviews/"+url.PathEscape(id))
}

// reviewCSV downloads the campaign as CSV.
func (c *Console) reviewCSV(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := c.cfg.Ops.WriteReviewCSV(r.Context(), r.PathValue("id"), &buf); err != nil {
		c.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="access-review.csv"`)
	_, _ = w.Write(buf.Bytes())
}

// auditData is the audit history's verification, with the policy in
// force beside it.
type auditData struct {
	Verification *accessctl.AuditVerification
	Policy       accessctl.Policy
	// Events says whether a security event stream is configured; Sinks
	// are its sinks' states in the tenant, and Result what the last test
	// event or redelivery came to.
	Events bool
	Sinks  []events.SinkStatus
	Result string
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request) {
	c.showAudit(w, r, c.cfg.Ops.VerifyAudit)
}

// verifyFull walks the whole history again (B3), at most once every
// accessctl.FullVerifyEvery: sooner, the page says so over the routine
// check's result.
func (c *Console) verifyFull(w http.ResponseWriter, r *http.Request) {
	c.showAudit(w, r, c.cfg.Ops.VerifyAuditFull)
}

func (c *Console) showAudit(w http.ResponseWriter, r *http.Request, verify func(context.Context) (*accessctl.AuditVerification, error)) {
	c.showAuditWith(w, r, verify, "", "")
}

func (c *Console) showAuditWith(w http.ResponseWriter, r *http.Request, verify func(context.Context) (*accessctl.AuditVerification, error), msg, result string) {
	status := http.StatusOK
	v, err := verify(r.Context())
	if errors.Is(err, backoffice.ErrFailedPrecondition) {
		var e *backoffice.Error
		if errors.As(err, &e) {
			msg = e.Msg
		}
		status = http.StatusTooManyRequests
		v, err = c.cfg.Ops.VerifyAudit(r.Context())
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p, err := c.cfg.Ops.Policy(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := auditData{Verification: v, Policy: p, Events: c.cfg.Events != nil, Result: result}
	if c.cfg.Events != nil {
		if d.Sinks, err = c.cfg.Events.TenantStatus(r.Context()); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	c.render(w, r, status, "audit", "Audit history", d, msg)
}

// eventsOn reports whether a security event stream is configured, and
// answers 404 when none is.
func (c *Console) eventsOn(w http.ResponseWriter, r *http.Request) bool {
	if c.cfg.Events == nil {
		c.fail(w, r, backoffice.NewError(backoffice.ErrNotFound, "console: events", "no security event sink is configured"))
	}
	return c.cfg.Events != nil
}

// sendTestEvent sends a test event to a sink (Administrators) and shows
// whether it arrived.
func (c *Console) sendTestEvent(w http.ResponseWriter, r *http.Request) {
	if !c.eventsOn(w, r) {
		return
	}
	sink := r.PostFormValue("sink")
	ev, err := c.cfg.Events.SendTest(r.Context(), sink)
	if ev.Metadata.UID == "" {
		c.fail(w, r, err)
		return
	}
	result := "Test event " + ev.Metadata.UID + " delivered to " + sink + "."
	if err != nil {
		result = sink + " did not take test event " + ev.Metadata.UID + ": " + err.Error()
	}
	c.showAuditWith(w, r, c.cfg.Ops.VerifyAudit, "", result)
}

// redeliverEvents starts the tenant's stream to a sink again from a
// sequence number (Administrators).
func (c *Console) redeliverEvents(w http.ResponseWriter, r *http.Request) {
	if !c.eventsOn(w, r) {
		return
	}
	sink := r.PostFormValue("sink")
	from, err := strconv.ParseInt(r.PostFormValue("from"), 10, 64)
	if err != nil {
		err = backoffice.NewError(backoffice.ErrInvalid, "console: redeliver", "the sequence number to redeliver from is a whole number",
			backoffice.FieldViolation{Field: "from", Reason: "not a whole number"})
	} else {
		err = c.cfg.Events.Redeliver(r.Context(), sink, from)
	}
	if err != nil && !errors.Is(err, backoffice.ErrInvalid) {
		c.fail(w, r, err)
		return
	}
	msg, result := "", fmt.Sprintf("The events from entry %d will be sent to %s again.", from, sink)
	if err != nil {
		msg, result = "The sequence number to redeliver from is a whole number, 1 or more.", ""
	}
	c.showAuditWith(w, r, c.cfg.Ops.VerifyAudit, msg, result)
}
