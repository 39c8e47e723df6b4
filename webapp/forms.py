"""Flask-WTF forms: CSRF on every post, and field errors shown next to their fields."""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import URL, DataRequired, Email, Length, NumberRange, Optional

from webapp.policy import Role


class HtmlForm(FlaskForm):
    """A form fed only by an HTML form post. Flask-WTF would also read a JSON body, and a JSON
    ``false`` or ``[1]`` there crashes it; browsers never send one, so a JSON post is empty."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):  # noqa: ANN001, ANN201
            if request.is_json and formdata is _Auto:
                return request.form  # empty: the JSON body is ignored
            return super().wrap_formdata(form, formdata)


class ConfirmForm(HtmlForm):
    """A button that only needs CSRF protection."""


class LoginForm(HtmlForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class InviteForm(HtmlForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField("Role", choices=[(r.value, r.label) for r in Role])


class RoleForm(HtmlForm):
    role = SelectField("Role", choices=[(r.value, r.label) for r in Role])


class AcceptInviteForm(HtmlForm):
    name = StringField("Your name", validators=[Length(max=120)])
    password = PasswordField("Choose a password", validators=[DataRequired(), Length(max=1024)])


class RenameWorkspaceForm(HtmlForm):
    name = StringField("Workspace name", validators=[DataRequired(), Length(max=120)])


class CurrencyForm(HtmlForm):
    currency = StringField(
        "Default currency (ISO 4217, e.g. USD; empty: the first connected account's)",
        validators=[Optional(), Length(min=3, max=3)],
    )


class DeleteWorkspaceForm(HtmlForm):
    confirm_name = StringField(
        "Type the workspace name to confirm", validators=[DataRequired(), Length(max=120)]
    )


class AlertSettingsForm(HtmlForm):
    match_rate_threshold = IntegerField(
        "Alert when a connection's match rate (the share of uploads the platform reported on that "
        "it matched to an ad click, last 30 days) is under (%)",
        validators=[Optional(), NumberRange(min=1, max=100)],
    )
    webhook_url = StringField(
        "Slack-compatible webhook URL (leave empty to keep the saved one)",
        validators=[Optional(), URL(require_tld=False), Length(max=2000)],
    )
    remove_webhook = BooleanField("Remove the saved webhook")


class AlertOptOutForm(HtmlForm):
    opt_out = BooleanField("Do not e-mail me alerts for this workspace")
