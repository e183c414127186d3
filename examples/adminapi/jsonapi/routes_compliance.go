package jsonapi

import (
	"bytes"
	"net/http"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

type approvalBody struct {
	Action     backoffice.Action `json:"action"`
	TargetType string            `json:"target_type"`
	TargetID   string            `json:"target_id"`
	Params     map[string]string `json:"params"`
	Reason     string            `json:"reason"`
}

type reasonBody struct {
	Reason string `json:"reason"`
}

// approveBody names the effect the approver was shown (F6).
type approveBody struct {
	EffectDigest string `json:"effect_digest"`
}

type elevationBody struct {
	Role     accessctl.RoleName `json:"role"`
	Duration string             `json:"duration"` // a Go duration: "2h", "90m"
	Reason   string             `json:"reason"`
}

type reviewBody struct {
	Name  string    `json:"name"`
	DueAt time.Time `json:"due_at"`
}

type decisionBody struct {
	Operator accessctl.OperatorID     `json:"operator"`
	Decision accessctl.ReviewDecision `json:"decision"`
	Note     string                   `json:"note"`
}

// same is pageJSON's converter for items whose JSON is their own.
func same[T any](v T) T { return v }

// rawBody is a response that is not JSON.
type rawBody struct {
	contentType string
	data        []byte
}

// registerCompliance wires the tenant's security policy, four-eyes
// approvals, break-glass elevation, time-bound grants, dormant
// operators and access reviews (PCI DSS v4.0 requirements 7 and 8).
func (a *API) registerCompliance() {
	a.handle("GET /v1/policy", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) { return ok(a.ops.Policy(r.Context())) }))
	a.handle("GET /v1/operators/dormant", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		ops, err := a.ops.DormantOperators(r.Context())
		return ok(map[string]any{"items": operatorList(ops)}, err)
	}))
	a.handle("POST /v1/operators/grants/expire", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		n, err := a.ops.ExpireGrants(r.Context())
		return ok(endedView{Ended: n}, err)
	}))
	a.handle("GET /v1/approvals", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		var status *accessctl.ApprovalStatus
		if s := queryOf(r).Get("status"); s != "" {
			st := accessctl.ApprovalStatus(s)
			status = &st
		}
		res, err := a.ops.Approvals(r.Context(), status, p)
		return ok(pageJSON(res, same[*accessctl.Approval]), err)
	}))
	a.handle("POST /v1/approvals", a.authed(withBody(func(r *http.Request, b approvalBody) (int, any, error) {
		return created(a.ops.RequestApproval(r.Context(), accessctl.ApprovalRequest{Action: b.Action, TargetType: b.TargetType, TargetID: b.TargetID,
			Params: b.Params, Reason: b.Reason}))
	})))
	a.handle("GET /v1/approvals/{id}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return ok(a.ops.Approval(r.Context(), r.PathValue("id")))
	}))
	a.handle("POST /v1/approvals/{id}/approve", a.authed(withBody(func(r *http.Request, b approveBody) (int, any, error) {
		return ok(a.ops.Approve(r.Context(), r.PathValue("id"), b.EffectDigest))
	})))
	a.handle("POST /v1/approvals/{id}/reject", a.authed(withBody(func(r *http.Request, b reasonBody) (int, any, error) {
		return ok(a.ops.Reject(r.Context(), r.PathValue("id"), b.Reason))
	})))
	a.handle("POST /v1/me/elevation", a.authed(withBody(func(r *http.Request, b elevationBody) (int, any, error) {
		d, err := time.ParseDuration(b.Duration)
		if err != nil {
			return 0, nil, badRequest("invalid-parameter", "duration must be a duration such as 2h",
				backoffice.FieldViolation{Field: "duration", Reason: "must be a duration such as 2h"})
		}
		return created(a.ops.RequestElevation(r.Context(), b.Role, d, b.Reason))
	})))
	a.handle("GET /v1/reviews", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := pageOf(r)
		if err != nil {
			return 0, nil, err
		}
		res, err := a.ops.Reviews(r.Context(), p)
		return ok(pageJSON(res, same[*accessctl.Review]), err)
	}))
	a.handle("POST /v1/reviews", a.authed(withBody(func(r *http.Request, b reviewBody) (int, any, error) {
		return created(a.ops.StartReview(r.Context(), b.Name, b.DueAt))
	})))
	a.handle("GET /v1/reviews/status", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return ok(a.ops.ReviewStatus(r.Context()))
	}))
	a.handle("GET /v1/reviews/{id}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return ok(a.ops.Review(r.Context(), r.PathValue("id")))
	}))
	a.handle("POST /v1/reviews/{id}/decisions", a.authed(withBody(func(r *http.Request, b decisionBody) (int, any, error) {
		return ok(a.ops.DecideReview(r.Context(), r.PathValue("id"), b.Operator, b.Decision, b.Note))
	})))
	a.handle("GET /v1/reviews/{id}/csv", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		var buf bytes.Buffer
		if err := a.ops.WriteReviewCSV(r.Context(), r.PathValue("id"), &buf); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, rawBody{contentType: "text/csv; charset=utf-8", data: buf.Bytes()}, nil
	}))
}
