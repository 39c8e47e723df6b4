FLASK_APP=webapp.core:create_base_app
