from models.NormalType import NormalModel

class UserModel(NormalModel):
    pass
