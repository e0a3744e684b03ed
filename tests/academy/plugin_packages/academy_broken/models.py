from django.db import models

class Oops(models.Model)
    pass
