"""Flask-WTF forms: CSRF on every post, and field errors shown next to their fields."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from webapp.policy import Role


class ConfirmForm(FlaskForm):
    """A button that only needs CSRF protection."""


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField("Role", choices=[(r.value, r.label) for r in Role])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=[(r.value, r.label) for r in Role])


class AcceptInviteForm(FlaskForm):
    name = StringField("Your name", validators=[Length(max=120)])
    password = PasswordField("Choose a password", validators=[DataRequired(), Length(max=1024)])


class RenameWorkspaceForm(FlaskForm):
    name = StringField("Workspace name", validators=[DataRequired(), Length(max=120)])


class DeleteWorkspaceForm(FlaskForm):
    confirm_name = StringField(
        "Type the workspace name to confirm", validators=[DataRequired(), Length(max=120)]
    )
