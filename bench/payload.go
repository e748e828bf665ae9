package bench

import (
	"encoding/json"

	"github.com/jampay/jampay/internal/payloads"
)

// StripePayload returns a checkout.session.completed event for the order,
// padded with the fields a real one carries (API version 2023-10-16), to
// about 3 KB: the payload the benchmarks, their floor and the load tool use.
// session is the order's Checkout Session ("": the one payloads makes
// for the order id).
func StripePayload(orderID, session string, amount int64) []byte {
	body, _ := payloads.Stripe{Type: "checkout.session.completed", OrderID: orderID, SessionID: session, Amount: amount, EventID: "evt_" + orderID[4:]}.Payload()
	var ev map[string]any
	_ = json.Unmarshal(body, &ev)
	obj := ev["data"].(map[string]any)["object"].(map[string]any)
	for k, v := range map[string]any{
		"automatic_tax":              map[string]any{"enabled": false, "liability": nil, "status": nil},
		"billing_address_collection": nil, "consent": nil, "consent_collection": nil, "created": 1700000000,
		"currency_conversion": nil, "custom_fields": []any{}, "custom_text": map[string]any{"after_submit": nil, "shipping_address": nil, "submit": nil, "terms_of_service_acceptance": nil},
		"customer_creation": "if_required", "invoice": nil,
		"invoice_creation": map[string]any{"enabled": false, "invoice_data": map[string]any{"account_tax_ids": nil, "custom_fields": nil, "description": nil, "footer": nil, "issuer": nil, "metadata": map[string]any{}, "rendering_options": nil}},
		"locale":           nil, "payment_link": nil, "payment_method_collection": "if_required", "payment_method_configuration_details": nil,
		"payment_method_options":  map[string]any{"card": map[string]any{"request_three_d_secure": "automatic"}},
		"phone_number_collection": map[string]any{"enabled": false}, "recovered_from": nil, "saved_payment_method_options": nil,
		"setup_intent": nil, "shipping_address_collection": nil, "shipping_cost": nil, "shipping_details": nil, "shipping_options": []any{},
		"submit_type": nil, "subscription": nil, "ui_mode": "hosted",
		"adaptive_pricing": map[string]any{"enabled": true}, "allow_promotion_codes": nil, "client_secret": nil,
		"after_expiration":      map[string]any{"recovery": map[string]any{"allow_promotion_codes": true, "enabled": false, "expires_at": nil, "url": nil}},
		"collected_information": map[string]any{"shipping_details": nil}, "discounts": []any{}, "optional_items": nil, "origin_context": nil,
		"presentment_details": map[string]any{"presentment_amount": amount, "presentment_currency": "usd"}, "permissions": nil,
		"redirect_on_completion": nil, "return_url": nil, "wallet_options": nil,
		"tax_id_collection":    map[string]any{"enabled": false, "required": "never"},
		"payment_method_types": []any{"card", "link"},
		"customer_details": map[string]any{"address": map[string]any{"city": "South San Francisco", "country": "US", "line1": "354 Oyster Point Blvd", "line2": nil, "postal_code": "94080", "state": "CA"},
			"email": "customer@example.com", "name": "Jenny Rosen", "phone": nil, "tax_exempt": "none", "tax_ids": []any{}},
	} {
		obj[k] = v
	}
	out, _ := json.Marshal(ev)
	return out
}
