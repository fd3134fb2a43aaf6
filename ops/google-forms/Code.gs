/**
 * hookline — Google Forms → webhook, signed with Standard Webhooks.
 *
 * Install (see docs/sources.md, "Google Forms"):
 *   1. In the form: ⋮ → Script editor. Paste this file as Code.gs.
 *   2. Project Settings → Script Properties:
 *        HOOKLINE_URL     https://<your ingress>/v1/webhooks/google-forms
 *        HOOKLINE_SECRET  whsec_...   (the source's secret; never put it in code)
 *   3. Run installTrigger() once and grant the permissions it asks for.
 *   4. Submit a test response; the Executions page shows the HTTP status.
 *
 * Body: {"formId","responseId","timestamp","answers":[{"title","response"}]}
 * Headers: webhook-id, webhook-timestamp, webhook-signature ("v1,<base64 HMAC-SHA256>"),
 * signed over "<id>.<timestamp>.<raw body>" with the base64-decoded secret.
 */

var MAX_ATTEMPTS = 4;

/** Creates the installable "On form submit" trigger for this form (run once). */
function installTrigger() {
  var form = FormApp.getActiveForm();
  ScriptApp.getProjectTriggers().forEach(function (t) {
    if (t.getHandlerFunction() === "onFormSubmit") ScriptApp.deleteTrigger(t);
  });
  ScriptApp.newTrigger("onFormSubmit").forForm(form).onFormSubmit().create();
}

/** Trigger handler: e.source is the Form, e.response the FormResponse. */
function onFormSubmit(e) {
  var form = e && e.source ? e.source : FormApp.getActiveForm();
  var response = e && e.response ? e.response : form.getResponses().pop();
  sendResponse_(form, response);
}

/** Sends the most recent response again (manual test from the editor). */
function resendLatest() {
  var form = FormApp.getActiveForm();
  var responses = form.getResponses();
  if (responses.length === 0) throw new Error("the form has no responses yet");
  sendResponse_(form, responses[responses.length - 1]);
}

function sendResponse_(form, response) {
  var answers = response.getItemResponses().map(function (itemResponse) {
    // Checkboxes give string[], grids string[][], file uploads file ids; all kept as-is.
    return { title: itemResponse.getItem().getTitle(), response: itemResponse.getResponse() };
  });
  var respondentEmail = safeRespondentEmail_(response);
  if (respondentEmail) answers.push({ title: "Email address", response: respondentEmail });

  var body = JSON.stringify({
    formId: form.getId(),
    responseId: response.getId(),
    timestamp: response.getTimestamp().toISOString(),
    answers: answers,
  });
  // Derived from the response id, so a retry (or a manual resend) is recognised as the
  // same delivery and not stored twice.
  var webhookId = "msg_" + response.getId();
  post_(body, webhookId);
}

function safeRespondentEmail_(response) {
  try {
    return response.getRespondentEmail();
  } catch (err) {
    return "";
  }
}

function post_(body, webhookId) {
  var props = PropertiesService.getScriptProperties();
  var url = props.getProperty("HOOKLINE_URL");
  var secret = props.getProperty("HOOKLINE_SECRET");
  if (!url || !secret) throw new Error("set HOOKLINE_URL and HOOKLINE_SECRET in Script Properties");

  // Sign and send the same bytes: UTF-8 of the JSON text.
  var bodyBytes = Utilities.newBlob(body).getBytes();
  var key = Utilities.base64Decode(secret.replace(/^whsec_/, ""));
  var lastStatus = 0;
  for (var attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    var timestamp = Math.floor(Date.now() / 1000);
    var toSign = Utilities.newBlob(webhookId + "." + timestamp + ".")
      .getBytes()
      .concat(bodyBytes);
    var signature = "v1," + Utilities.base64Encode(Utilities.computeHmacSha256Signature(toSign, key));
    var res = UrlFetchApp.fetch(url, {
      method: "post",
      contentType: "application/json",
      payload: bodyBytes,
      headers: { "webhook-id": webhookId, "webhook-timestamp": String(timestamp), "webhook-signature": signature },
      muteHttpExceptions: true,
      followRedirects: false,
    });
    lastStatus = res.getResponseCode();
    if (lastStatus >= 200 && lastStatus < 300) return;
    // 4xx other than 429 will not get better by retrying (bad secret, bad payload).
    if (lastStatus !== 429 && lastStatus < 500) break;
    Utilities.sleep(Math.min(30000, 1000 * Math.pow(2, attempt)));
  }
  // Thrown errors show in Executions and (if enabled) in the trigger's failure e-mail.
  throw new Error("hookline answered HTTP " + lastStatus + " for " + webhookId);
}
