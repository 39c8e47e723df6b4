"""SourceLoop's Flask app. Importing the package imports nothing else: ``webapp.core`` builds the
app every process shares, ``webapp.factory`` the web app."""
