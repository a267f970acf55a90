"""The WSGI application of the single-machine run: the project's, plus its static files.

With DEBUG off Django serves no static files, and nothing stands in front of gunicorn
on one machine, so the admin would come without its styles. Other deployments use
``facteur.config.wsgi`` directly.
"""

from django.contrib.staticfiles.handlers import StaticFilesHandler

from facteur.config.wsgi import application as project_application

application = StaticFilesHandler(project_application)
